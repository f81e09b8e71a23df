/** PaddleX's PP-ChatOCRv4-doc: v3's endpoints (v4 prompting and table neighbour text) plus `/chatocr-mllm` (shared/chatocr). */
import { chatOcrPipeline } from '../shared/chatocr/chatOcrPipeline.js';

export const ppChatOcrV4Pipeline = chatOcrPipeline('v4');
