/** Markdown of several pages as one document (PP-StructureV3's /concatenate-pages, PP-DocTranslation's translate). */

const HAN = /^[\u4e00-\u9fff]/;

/**
 * PaddleX's concatenate_markdown_pages: pages joined by a blank line, except where a page ends
 * mid-paragraph and the next starts mid-paragraph: then by a space (none next to Chinese characters).
 */
export function concatenatePages(pages: ReadonlyArray<{ text: string; isStart: boolean; isEnd: boolean }>): string {
  let out = '';
  let previousEnd = true;
  for (const page of pages) {
    if (!page.isStart && !previousEnd) {
      const chinese = HAN.test(out.slice(-1)) || HAN.test(page.text.slice(0, 1));
      out += chinese ? page.text : ` ${page.text}`;
    } else {
      out += `\n\n${page.text}`;
    }
    previousEnd = page.isEnd;
  }
  return out;
}
