/** PaddleX's PP-ChatOCRv3-doc: `/chatocr-visual`, `/chatocr-vector`, `/chatocr-chat` (shared with v4 in shared/chatocr). */
import { chatOcrPipeline } from '../shared/chatocr/chatOcrPipeline.js';

export const ppChatOcrV3Pipeline = chatOcrPipeline('v3');
