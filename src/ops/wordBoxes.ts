/**
 * PaddleX's word boxes (`return_word_box`): where each word of a recognised line lies, estimated from
 * the CTC time steps its characters were decoded at, spread over the line's detection box.
 * Hand-written: these are PaddleX's own rules (BaseRecLabelDecode.get_word_info and the pipelines'
 * cal_ocr_word_box), which no library implements.
 */

type Point = [number, number];

/** How a recognised line decoded: its characters' time steps, and how many steps the crop itself spans. */
export interface LineColumns {
  /** the time step each decoded character came from, in text order */
  columns: number[];
  /** steps of the model output × (crop width/height ÷ the batch's widest ratio): the crop's share of the output */
  columnCount: number;
}

type WordState = 'cn' | 'en&num' | 'symbol';

interface WordGroups {
  words: string[][];
  columns: number[][];
  states: WordState[];
}

const isAsciiAlnum = (c: string) => /^[a-zA-Z0-9]$/.test(c);

/**
 * get_word_info: consecutive characters of one kind form a group: CJK ideographs (U+4E00–U+9FFF),
 * ASCII letters and digits (with a '.' before a digit and a '-' after them), or anything else.
 */
function groupWords(text: string, columns: number[]): WordGroups {
  const chars = Array.from(text); // Python iterates code points
  const groups: WordGroups = { words: [], columns: [], states: [] };
  let state: WordState | undefined;
  let word: string[] = [];
  let wordColumns: number[] = [];
  chars.forEach((char, i) => {
    const code = char.codePointAt(0)!;
    let charState: WordState = code >= 0x4e00 && code <= 0x9fff ? 'cn' : isAsciiAlnum(char) ? 'en&num' : 'symbol';
    if (char === '.' && state === 'en&num' && i + 1 < chars.length && /^[0-9]$/.test(chars[i + 1]!)) charState = 'en&num';
    if (char === '-' && state === 'en&num') charState = 'en&num';
    state ??= charState;
    if (state !== charState) {
      if (word.length > 0) {
        groups.words.push(word);
        groups.columns.push(wordColumns);
        groups.states.push(state);
        word = [];
        wordColumns = [];
      }
      state = charState;
    }
    const column = columns[i];
    if (column === undefined) throw new Error(`word boxes: character ${i} of "${text}" has no decoded time step`);
    word.push(char);
    wordColumns.push(column);
  });
  if (word.length > 0) {
    groups.words.push(word);
    groups.columns.push(wordColumns);
    groups.states.push(state!);
  }
  return groups;
}

/** A rectangle as PaddleX's cal_ocr_word_box builds it: corners clockwise from the top left. */
function cell(x0: number, x1: number, y0: number, y1: number): Point[] {
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
}

/**
 * PaddleX's sort_boxes (y_thresh 12): boxes ordered by centre y, split into rows where the centre
 * moves by 12 px or more, each row ordered by centre x (Python's stable sorts).
 */
function sortBoxes(boxes: Point[][]): Point[][] {
  const centre = (box: Point[]) => [box.reduce((s, p) => s + p[0], 0) / box.length, box.reduce((s, p) => s + p[1], 0) / box.length];
  const items = boxes.map((box) => ({ box, centre: centre(box) })).sort((a, b) => a.centre[1]! - b.centre[1]!);
  const rows: (typeof items)[] = [];
  let lastY: number | undefined;
  for (const item of items) {
    if (lastY === undefined || Math.abs(item.centre[1]! - lastY) < 12) {
      if (rows.length === 0) rows.push([]);
      rows.at(-1)!.push(item);
    } else {
      rows.push([item]);
    }
    lastY = item.centre[1];
  }
  return rows.flatMap((row) => row.sort((a, b) => a.centre[0]! - b.centre[0]!).map((item) => item.box));
}

/**
 * cal_ocr_word_box: the words of `text` and their boxes inside the line's quad (top-left x/y, top-right
 * x, bottom-right y; PaddleX ignores the quad's tilt). A non-CJK group gets the span of its time
 * steps; each CJK character a box of the mean CJK character width centred on its step. The words
 * keep text order; the boxes are re-sorted (so with CJK characters the two orders can differ, as in PaddleX).
 */
export function wordBoxes(text: string, quad: Point[], line: LineColumns): { words: string[]; boxes: Point[][] } {
  const { words, columns, states } = groupWords(text, line.columns);
  const [[xStart, yStart], [xEnd], [, yEnd]] = quad as [Point, Point, Point];
  const cellWidth = (xEnd - xStart) / line.columnCount;
  const contents: string[] = [];
  const boxes: Point[][] = [];
  const cnWidths: number[] = [];
  const cnColumns: number[] = [];
  words.forEach((word, i) => {
    const cols = columns[i]!;
    if (states[i] === 'cn') {
      if (cols.length !== 1) cnWidths.push(((cols.at(-1)! - cols[0]! + 1) * cellWidth) / (cols.length - 1));
      cnColumns.push(...cols);
      contents.push(...word);
    } else {
      boxes.push(cell(xStart + Math.trunc(cols[0]! * cellWidth), xStart + Math.trunc((cols.at(-1)! + 1) * cellWidth), yStart, yEnd));
      contents.push(word.join(''));
    }
  });
  if (cnColumns.length > 0) {
    const charWidth =
      cnWidths.length > 0 ? cnWidths.reduce((s, w) => s + w, 0) / cnWidths.length : (xEnd - xStart) / Array.from(text).length;
    for (const column of cnColumns) {
      const centre = (column + 0.5) * cellWidth;
      const x0 = Math.max(Math.trunc(centre - charWidth / 2), 0) + xStart;
      const x1 = Math.min(Math.trunc(centre + charWidth / 2), xEnd - xStart) + xStart;
      boxes.push(cell(x0, x1, yStart, yEnd));
    }
  }
  return { words: contents, boxes: sortBoxes(boxes) };
}
