import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas } from '@napi-rs/canvas';
import { decodeImage } from '../src/io/codec.js';
import { moduleOfModelName } from '../src/models/registry.js';
import { decodeTableStructure, TableStructureRecognizer, tableTokenTable } from '../src/models/tableStructure.js';
import { realInferenceYml, TABLE_TOKEN_PROB, type TableStep, tableStructureFixtureDir } from './helpers/docFixtures.js';
import { cpuRuntime, fixtureSubModule } from './helpers/fixtures.js';

// Worked examples derived from PaddleX's TableLabelDecode (table_structure_recognition/processors.py).
const DICT = ['<thead>', '</thead>', '<tbody>', '</tbody>', '<tr>', '</tr>', '<td>', '<td', '>', '</td>', ' colspan="2"', ' rowspan="2"'];
const TABLE = tableTokenTable(DICT, true);

/** Probabilities [steps, tokens] picking `picks` (token names), each at `prob`. */
function onehot(picks: string[], prob = 0.8): Float32Array {
  const out = new Float32Array(picks.length * TABLE.length).fill(0.01);
  picks.forEach((token, step) => {
    out[step * TABLE.length + TABLE.indexOf(token)] = prob;
  });
  return out;
}

const SCALE = { paddedSize: [488, 488] as [number, number], originalSize: [976, 488] as [number, number], relativeToOriginal: false };

describe("TableLabelDecode's token table", () => {
  test('merge_no_span_structure: <td></td> appended, <td> removed; sos first, eos last', () => {
    assert.deepEqual(TABLE, [
      'sos',
      '<thead>',
      '</thead>',
      '<tbody>',
      '</tbody>',
      '<tr>',
      '</tr>',
      '<td',
      '>',
      '</td>',
      ' colspan="2"',
      ' rowspan="2"',
      '<td></td>',
      'eos',
    ]);
    assert.deepEqual(tableTokenTable(DICT, false), ['sos', ...DICT, 'eos']);
  });

  test('the real SLANet_plus dictionary gives the 50 classes of its program output', () => {
    const yml = realInferenceYml('SLANet_plus');
    assert.equal(tableTokenTable(yml.PostProcess.character_dict, true).length, 50);
  });
});

describe('token sequences → HTML structure and cell boxes', () => {
  test('a 2×2 table with a colspan header: tokens until eos, cell tokens take their step box', () => {
    const picks = [
      '<thead>',
      '<tr>',
      '<td',
      ' colspan="2"',
      '>',
      '</td>',
      '</tr>',
      '</thead>',
      '<tbody>',
      '<tr>',
      '<td></td>',
      '<td></td>',
      '</tr>',
      '</tbody>',
      'eos',
      '<td></td>', // after eos: never read
    ];
    const boxes = new Float32Array(picks.length * 4);
    boxes.set([0.1, 0.2, 0.3, 0.4], 2 * 4); // the `<td` step
    boxes.set([0.5, 0.25, 0.75, 0.5], 10 * 4);
    boxes.set([0.0, 0.5, 0.25, 0.999], 11 * 4);
    const out = decodeTableStructure(onehot(picks), boxes, picks.length, TABLE, 4, SCALE);
    assert.equal(
      out.structure.join(''),
      '<html><body><table><thead><tr><td colspan="2"></td></tr></thead><tbody><tr><td></td><td></td></tr></tbody></table></body></html>',
    );
    // ratio = min(488/976, 488/488) = 0.5: value × 488 / 0.5, truncated
    assert.deepEqual(out.bbox, [
      [97, 195, 292, 390],
      [488, 244, 732, 488],
      [0, 488, 244, 975],
    ]);
    assert.ok(Math.abs(out.structureScore - Math.fround(0.8)) < 1e-7);
  });

  test('sos and an eos at step 0 are skipped, not an end; the score averages only kept tokens', () => {
    const picks = ['eos', 'sos', '<tr>', '</tr>', 'eos'];
    const probs = onehot(picks);
    probs[2 * TABLE.length + TABLE.indexOf('<tr>')] = 0.6;
    const out = decodeTableStructure(probs, new Float32Array(picks.length * 4), picks.length, TABLE, 4, SCALE);
    assert.deepEqual(out.structure.slice(3, -3), ['<tr>', '</tr>']);
    assert.ok(Math.abs(out.structureScore - (Math.fround(0.6) + Math.fround(0.8)) / 2) < 1e-7);
  });

  test('model SLANet: boxes relative to the original image, not the padded input', () => {
    const picks = ['<td></td>', 'eos'];
    const boxes = Float32Array.from([0.5, 0.5, 1, 1]);
    const slanet = decodeTableStructure(onehot(picks), boxes, 2, TABLE, 4, { ...SCALE, relativeToOriginal: true });
    assert.deepEqual(slanet.bbox, [[488, 244, 976, 488]]);
  });
});

describe('table_structure_recognition family on a fixture with SLANet_plus I/O', () => {
  // A rendered 2-row table: a header cell spanning both columns, then two cells.
  const WIDTH = 600;
  const HEIGHT = 200;
  const CELLS: Array<[number, number, number, number]> = [
    [10, 10, 590, 100],
    [10, 100, 300, 190],
    [300, 100, 590, 190],
  ];
  async function tableImage() {
    const canvas = createCanvas(WIDTH, HEIGHT);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    ctx.strokeStyle = 'black';
    ctx.lineWidth = 2;
    for (const [x1, y1, x2, y2] of CELLS) ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.fillStyle = 'black';
    ctx.font = '32px sans-serif';
    ctx.fillText('Quarter results', 180, 65);
    ctx.fillText('Q1', 120, 155);
    ctx.fillText('Q2', 410, 155);
    return decodeImage(await canvas.encode('png'), 'table.png');
  }
  const STEPS: TableStep[] = [
    { token: '<thead>' },
    { token: '<tr>' },
    { token: '<td', cell: CELLS[0] },
    { token: ' colspan="2"' },
    { token: '>' },
    { token: '</td>' },
    { token: '</tr>' },
    { token: '</thead>' },
    { token: '<tbody>' },
    { token: '<tr>' },
    { token: '<td></td>', cell: CELLS[1] },
    { token: '<td></td>', cell: CELLS[2] },
    { token: '</tr>' },
    { token: '</tbody>' },
    { token: 'eos' },
  ];

  test('SLANet names pick the family', () => {
    for (const name of ['SLANet', 'SLANet_plus', 'SLANeXt_wired', 'SLANeXt_wireless']) {
      assert.equal(moduleOfModelName(name), 'table_structure_recognition', name);
    }
  });

  test('the rendered table: the exact HTML structure and the cell boxes in image pixels (4 corners each)', async () => {
    const dir = await tableStructureFixtureDir(STEPS, WIDTH, HEIGHT);
    const model = await TableStructureRecognizer.load(
      await fixtureSubModule('table_structure_recognition', dir),
      cpuRuntime(),
      'SubModules.TableStructureRecognition',
    );
    const result = await model.predict(await tableImage());
    assert.equal(
      result.structure.join(''),
      '<html><body><table><thead><tr><td colspan="2"></td></tr></thead><tbody><tr><td></td><td></td></tr></tbody></table></body></html>',
    );
    assert.equal(result.bbox.length, 3);
    result.bbox.forEach((corners, i) => {
      const [x1, y1, x2, y2] = CELLS[i]!;
      const expected = [x1, y1, x2, y1, x2, y2, x1, y2];
      // fractions of the long side in float32, × 488 / (488 / 600), truncated: within one pixel below
      corners.forEach((v, k) => assert.ok(v <= expected[k]! && v >= expected[k]! - 1, `cell ${i}: ${corners} vs ${expected}`));
    });
    assert.ok(Math.abs(result.structureScore - Math.fround(TABLE_TOKEN_PROB)) < 1e-6);
  });
});
