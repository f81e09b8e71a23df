const R = '/work/wt-shitu/dist/test/helpers/';
const { startServer } = await import(R + 'server.js');
const { recognitionYaml } = await import(R + 'recognitionFixtures.js');
const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'memory' } } });
const s = await startServer({ pipelines: [yaml] });
const doc = await (await fetch(s.url + '/openapi.json')).json();
console.log(doc.openapi, JSON.stringify(doc.paths['/shitu-infer'].post.responses['200'].content['application/json'].schema.properties.result).slice(0, 1500));
console.log(JSON.stringify(doc.paths['/shitu-infer'].post.requestBody.content['application/json'].schema).slice(0, 1500));
await s.close();
