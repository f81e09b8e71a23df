export { default } from '../shared/attributesWorker.js';
