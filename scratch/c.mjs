const base = process.argv[2];
const { startServer } = await import(base + '/dist/test/helpers/server.js');
const { CONFORMANCE } = await import(base + '/dist/test/conformance/pipelines.js');
const yamls = await Promise.all(CONFORMANCE.slice(0, 1).map((c) => c.yaml()));
const s = await startServer({ pipelines: yamls });
const doc = await (await fetch(s.url + '/openapi.json')).json();
console.log(JSON.stringify(doc.paths['/image-classification'].post.responses['200'].content['application/json'].schema.properties.result.properties.image));
await s.close();
