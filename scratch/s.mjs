import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
const R = '/work/wt-shitu/dist/test/helpers/';
const { startServer, postJson } = await import(R + 'server.js');
const { recognitionYaml, tempDir } = await import(R + 'recognitionFixtures.js');
const dir = await tempDir('scratch');
const yaml = await recognitionYaml('face_recognition', { extra: { index_storage: { type: 'file_system', directory: dir + '/idx' } } });
const server = await startServer({ pipelines: [yaml] });
const astro = await readFile('/usr/lib/python3/dist-packages/skimage/data/astronaut.png');
const messi = await readFile('/usr/share/doc/opencv-doc/examples/data/messi5.jpg');
const b64 = (b) => b.toString('base64');
const astroFace = await sharp(astro).extract({ left: 177, top: 61, width: 91, height: 113 }).png().toBuffer();
const messiFace = await sharp(messi).extract({ left: 223, top: 95, width: 39, height: 35 }).png().toBuffer();
let r = await postJson(server.url + '/face-recognition-index-build', { imageLabelPairs: [{ image: b64(astroFace), label: 'astronaut' }] });
console.log(JSON.stringify(r.body));
const key = r.body.result.indexKey;
const flipped = await sharp(astro).flop().png().toBuffer();
const cropped = await sharp(astro).extract({ left: 120, top: 20, width: 220, height: 220 }).png().toBuffer();
for (const [name, img] of [['astro', astro], ['flipped', flipped], ['cropped', cropped], ['messi', messi]]) {
  r = await postJson(server.url + '/face-recognition-infer', { image: b64(img), indexKey: key, visualize: false, recThreshold: -1 });
  console.log(name, JSON.stringify(r.body.result ?? r.body));
}
r = await postJson(server.url + '/face-recognition-index-add', { imageLabelPairs: [{ image: b64(messiFace), label: 'messi' }], indexKey: key });
console.log(JSON.stringify(r.body));
r = await postJson(server.url + '/face-recognition-infer', { image: b64(messi), indexKey: key, visualize: false });
console.log('messi2', JSON.stringify(r.body.result ?? r.body));
await server.close();
