/** The OCR bench pages (text known) and how recognized lines are put back in reading order. */
import { renderTextImage, type TextImageOptions } from '../test/helpers/textImages.js';

export interface TextPage {
  name: string;
  png: Uint8Array;
  lines: string[];
}

const PAGES: Array<{ name: string; lines: string[]; options: TextImageOptions }> = [
  {
    name: 'paragraph',
    options: { fontFamily: 'DejaVu Sans', fontSize: 28 },
    lines: [
      'The harbour office opens at seven in the morning,',
      'and the first ferry leaves for the island at 7:45.',
      'Passengers with bicycles board from the north ramp;',
      'cars wait in lanes 3 to 6 until the deck is clear.',
      'Tickets bought online must be shown on arrival.',
      'Return fares cost 18.50 for adults, 9.25 for children.',
      'In strong winds the 16:30 crossing may be cancelled,',
      'so check the board near gate B before you queue.',
      'Lost property is kept for 30 days at the front desk.',
      'Questions? Call 0123 456 789 or ask a crew member.',
    ],
  },
  {
    name: 'receipt',
    options: { fontFamily: 'Liberation Mono', fontSize: 22, lineSpacing: 1.4 },
    lines: [
      'CORNER GROCERY #0421',
      '12 Main St, Springfield',
      '2024-03-18 14:22',
      'Milk 1L x2        3.98',
      'Bread wholegrain  2.49',
      'Eggs 12 pack      4.15',
      'Bananas 1.2kg     1.56',
      'Coffee beans     11.90',
      'SUBTOTAL         24.08',
      'TAX 5%            1.20',
      'TOTAL            25.28',
      'THANK YOU',
    ],
  },
  {
    name: 'sign',
    options: { fontFamily: 'Liberation Sans', fontSize: 80, lineSpacing: 1.3 },
    lines: ['NO PARKING', 'TOW AWAY ZONE'],
  },
  {
    name: 'notice',
    options: { fontFamily: 'DejaVu Serif', fontSize: 22 },
    lines: [
      'Notice to residents of Elm Court, blocks A to D:',
      'the water supply will be off on Tuesday 12 May',
      'from 9:00 until about 15:30 while pipes are replaced.',
      'Please fill kettles and bottles the evening before.',
      'Parking bays 14-22 are closed for the works vehicles.',
      'We apologise for the inconvenience. Site office: 0161 555 0199.',
    ],
  },
  {
    name: 'tilted',
    options: { fontFamily: 'Liberation Sans', fontSize: 30, rotateDeg: 5 },
    lines: ['Gate 12 closes 20 minutes', 'before departure.', 'Boarding groups 1-3 first,', 'then all remaining passengers.'],
  },
  {
    name: 'letter',
    options: { fontFamily: 'Liberation Serif', fontSize: 26 },
    lines: [
      'Dear Ms. Alvarez,',
      'Thank you for your letter of 4 June.',
      'The replacement parts (order 7731-B) ship on Monday',
      'and should reach you within 3 to 5 working days.',
      'Kind regards, Jonathan Price',
    ],
  },
];

export async function renderTextPages(): Promise<TextPage[]> {
  return Promise.all(PAGES.map(async ({ name, lines, options }) => ({ name, lines, png: (await renderTextImage(lines, options)).png })));
}

export interface PlacedText {
  text: string;
  top: number;
  bottom: number;
  left: number;
}

/**
 * Lines top to bottom, pieces of one line left to right. Both OCR engines' outputs go through this,
 * so CER compares recognition, not each engine's own output order.
 */
export function inReadingOrder(pieces: readonly PlacedText[]): string {
  const centre = (p: PlacedText) => (p.top + p.bottom) / 2;
  const rows: PlacedText[][] = [];
  for (const piece of [...pieces].sort((a, b) => centre(a) - centre(b))) {
    const row = rows.at(-1);
    const first = row?.[0];
    // Same line when the centres are closer than half the smaller box height.
    if (row && first && Math.abs(centre(piece) - centre(first)) < Math.min(piece.bottom - piece.top, first.bottom - first.top) / 2) {
      row.push(piece);
    } else {
      rows.push([piece]);
    }
  }
  return rows
    .map((row) =>
      row
        .sort((a, b) => a.left - b.left)
        .map((p) => p.text)
        .join(' '),
    )
    .join('\n');
}

/** A PaddleX OCR `prunedResult` as placed pieces (rec_boxes are [x1, y1, x2, y2]). */
export function paddlexPieces(prunedResult: { rec_texts: string[]; rec_boxes: number[][] }): PlacedText[] {
  return prunedResult.rec_texts.map((text, i) => {
    const [x1, y1, , y2] = prunedResult.rec_boxes[i]!;
    return { text, left: x1!, top: y1!, bottom: y2! };
  });
}

/** @gutenye/ocr-node's lines: `box` is four [x, y] corners. */
export function gutenyePieces(lines: ReadonlyArray<{ text: string; box?: number[][] }>): PlacedText[] {
  return lines.map(({ text, box }) => {
    if (!box?.length) throw new Error(`@gutenye/ocr-node returned the line "${text}" without a box`);
    const xs = box.map((p) => p[0]!);
    const ys = box.map((p) => p[1]!);
    return { text, left: Math.min(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
  });
}
