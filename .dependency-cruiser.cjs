/**
 * Layering rules (`npm run lint`): serving → pipelines → models → runtime / ops / vis / io / config.
 * Layers only import downward, nothing imports in a cycle, a pipeline folder imports no other
 * pipeline folder, and the HTTP side never loads inference code (onnxruntime, canvas, PDF, models).
 * The server, the client package and the playground front end import nothing of one another.
 */
const BASE = '^src/(runtime|ops|vis|io|config|errors\\.ts)';
/** what runs on the HTTP thread: serving, the registry and each pipeline's descriptor with what it imports */
const HTTP_SIDE = '^src/(serving|cli|pipelines/(registry|define)\\.ts|pipelines/[^/]+/pipeline\\.ts)';
const INFERENCE_CODE = '^(node_modules/(onnxruntime-node|@napi-rs/canvas|pdfjs-dist|@techstark/opencv-js)/|src/(models|ops|vis|runtime/(session|instance)\\.ts))';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'base-imports-no-upper-layer',
      comment: 'runtime, ops, vis, io and config are the bottom layer',
      severity: 'error',
      from: { path: BASE },
      to: { path: '^src/(models|pipelines|serving|cli)/' },
    },
    {
      name: 'models-import-only-base',
      severity: 'error',
      from: { path: '^src/models/' },
      to: { path: '^src/(pipelines|serving|cli)/' },
    },
    {
      name: 'pipelines-do-not-import-serving',
      severity: 'error',
      from: { path: '^src/pipelines/' },
      to: { path: '^src/(serving|cli)/' },
    },
    {
      name: 'serving-does-not-import-cli',
      severity: 'error',
      from: { path: '^src/serving/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'pipeline-folders-are-independent',
      comment: 'a pipeline uses its own folder, pipelines/shared and pipelines/define.ts only',
      severity: 'error',
      from: { path: '^src/pipelines/([^/]+)/' },
      to: { path: '^src/pipelines/[^/]+/', pathNot: ['^src/pipelines/$1/', '^src/pipelines/shared/'] },
    },
    {
      name: 'server-imports-no-tooling',
      comment: 'the server ships alone: it imports neither the generator scripts, the tests, the playground front end nor the client',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(scripts|test|playground|packages)/' },
    },
    {
      name: 'client-package-is-standalone',
      comment: '@pipeserve/client is published on its own: its types come from the generated schema.ts, not from the server',
      severity: 'error',
      from: { path: '^packages/client/' },
      to: { path: '^(src|scripts|test|playground)/' },
    },
    {
      name: 'playground-is-browser-code',
      comment: 'the playground is bundled for the browser: it learns the endpoints from /openapi.json at run time',
      severity: 'error',
      from: { path: '^playground/' },
      to: { path: '^(src|scripts|test|packages)/' },
    },
    {
      name: 'http-side-loads-no-inference-code',
      comment: 'descriptors import worker modules by type only; inference code loads inside the workers',
      severity: 'error',
      from: { path: HTTP_SIDE },
      to: { path: INFERENCE_CODE, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports are erased at build time, so they neither load code nor make cycles
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    exclude: { path: '^dist/' },
  },
};
