import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type DrawnBlock, layoutFixtureDir, layoutPipelineYaml, renderPage } from './helpers/layoutDocs.js';
import { postJson, type RunningServer, startServer } from './helpers/server.js';

const W = 1200;
const H = 1600;
const RICH: DrawnBlock[] = [
  { label: 'doc_title', box: [120, 60, 1080, 120], lines: ['A Study of Layout Parsing'] },
  { label: 'paragraph_title', box: [96, 170, 576, 215], lines: ['1 Introduction'] },
  {
    label: 'text',
    box: [96, 225, 576, 470],
    indent: 40,
    lines: ['Documents mix titles and', 'columns of text with figures', 'and captions that a reader', 'visits in a fixed order when', 'the page is read aloud.'],
  },
  {
    label: 'text',
    box: [624, 170, 1104, 470],
    indent: 40,
    lines: ['The right column starts at', 'the same height as the title', 'on the left and goes on with', 'more plain words about the', 'order of blocks on pages.', 'It ends here.'],
  },
  { label: 'image', box: [240, 520, 960, 900] },
  { label: 'figure_title', box: [360, 915, 840, 960], lines: ['Figure 1 Blocks on a page'] },
  { label: 'paragraph_title', box: [96, 1000, 576, 1045], lines: ['2 Method'] },
  {
    label: 'text',
    box: [96, 1055, 576, 1300],
    indent: 40,
    lines: ['We cut the page into parts', 'by gaps between the blocks', 'and sort the parts from top', 'to bottom and left to right.'],
  },
  {
    label: 'text',
    box: [624, 1000, 1104, 1300],
    indent: 40,
    lines: ['Titles and captions join the', 'blocks next to them so that', 'a figure keeps its caption.'],
  },
];

describe('PP-StructureV3 explore', () => {
  let server: RunningServer;
  before(async () => {
    const dir = await layoutFixtureDir(W, H, RICH);
    server = await startServer({ pipelines: [await layoutPipelineYaml('PP-StructureV3', dir)] });
  });
  after(() => server?.close());
  test('page', async () => {
    const png = renderPage(W, H, RICH);
    (await import('node:fs')).writeFileSync('/tmp/lp/rich.png', png);
    const res = await postJson(`${server.url}/layout-parsing`, { file: png.toString('base64'), fileType: 1, visualize: false });
    (await import('node:fs')).writeFileSync('/tmp/lp/rich.json', JSON.stringify(res.body, null, 1));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
});
