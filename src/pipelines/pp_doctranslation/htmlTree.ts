/**
 * The little of BeautifulSoup (`html.parser` builder, "minimal" formatter) that PaddleX's
 * PP-DocTranslation uses on Markdown: parse to a tree, walk its strings, replace nodes, and print
 * it back as `str(soup)` / `decode_contents()` do. Tokenising is htmlparser2's (lenient like
 * Python's html.parser, entities decoded); the tree and the printing are written here because no
 * npm serializer prints as BeautifulSoup does (`<img .../>`, attributes sorted, quotes chosen by content, no escaping
 * inside script and style). Well-formed HTML, such as PP-StructureV3's Markdown, parses as in
 * PaddleX; for malformed HTML htmlparser2's implied closing (a `<p>` inside an open `<p>`) differs
 * from BeautifulSoup, which nests.
 */
import { Parser } from 'htmlparser2';

export interface HtmlElement {
  type: 'element';
  name: string;
  attributes: Array<[string, string]>;
  children: HtmlNode[];
  parent: HtmlParent;
}
export interface HtmlText {
  type: 'text';
  data: string;
  parent: HtmlParent;
}
/** comments and declarations (`<!DOCTYPE html>`), kept as written */
export interface HtmlMarkup {
  type: 'comment' | 'declaration';
  data: string;
  parent: HtmlParent;
}
export type HtmlNode = HtmlElement | HtmlText | HtmlMarkup;
export interface HtmlDocument {
  type: 'document';
  children: HtmlNode[];
}
type HtmlParent = HtmlElement | HtmlDocument;

/** BeautifulSoup's HTMLTreeBuilder.empty_element_tags: printed `<br/>` */
const VOID_ELEMENTS = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'keygen',
  'link',
  'menuitem',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
  'basefont',
  'bgsound',
  'command',
  'frame',
  'image',
  'isindex',
  'nextid',
  'spacer',
]);
/** strings inside these are printed unescaped */
const CDATA_CONTAINERS = new Set(['script', 'style']);

export function parseHtml(html: string): HtmlDocument {
  const doc: HtmlDocument = { type: 'document', children: [] };
  const open: HtmlParent[] = [doc];
  const current = () => open[open.length - 1]!;
  let attributes = new Map<string, string>();
  const parser = new Parser(
    {
      onattribute(name, value) {
        attributes.set(name, value); // a repeated attribute: the last one wins, as in BeautifulSoup
      },
      onopentag(name) {
        const element: HtmlElement = { type: 'element', name, attributes: [...attributes], children: [], parent: current() };
        attributes = new Map();
        current().children.push(element);
        open.push(element);
      },
      onclosetag(name) {
        while (open.length > 1) {
          const closed = open.pop() as HtmlElement;
          if (closed.name === name) break;
        }
      },
      ontext(data) {
        const parent = current();
        const last = parent.children.at(-1);
        // BeautifulSoup joins adjacent strings into one
        if (last?.type === 'text') last.data += data;
        else parent.children.push({ type: 'text', data, parent });
      },
      oncomment(data) {
        current().children.push({ type: 'comment', data, parent: current() });
      },
      onprocessinginstruction(_name, data) {
        current().children.push({ type: 'declaration', data, parent: current() });
      },
    },
    { recognizeSelfClosing: true },
  );
  parser.end(html);
  return doc;
}

const escapeText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** BeautifulSoup's attribute quoting: double quotes, single ones when the value holds only double quotes, else &quot;. */
function quoteAttribute(value: string): string {
  const escaped = escapeText(value);
  if (!value.includes('"')) return `"${escaped}"`;
  if (!value.includes("'")) return `'${escaped}'`;
  return `"${escaped.replaceAll('"', '&quot;')}"`;
}

/** `str(node)` of a tag or `output_ready` of a string inside a tree. */
export function printNode(node: HtmlNode): string {
  switch (node.type) {
    case 'text':
      return node.parent.type === 'element' && CDATA_CONTAINERS.has(node.parent.name) ? node.data : escapeText(node.data);
    case 'comment':
      return `<!--${node.data}-->`;
    case 'declaration':
      return `<${node.data}>`;
    case 'element': {
      // BeautifulSoup's formatter prints attributes sorted by name
      const attributes = [...node.attributes]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ` ${key}=${quoteAttribute(value)}`)
        .join('');
      if (VOID_ELEMENTS.has(node.name) && node.children.length === 0) return `<${node.name}${attributes}/>`;
      return `<${node.name}${attributes}>${printChildren(node)}</${node.name}>`;
    }
  }
}

/** `decode_contents()` of a tag, `str(soup)` of a document. */
export function printChildren(parent: HtmlParent): string {
  return parent.children.map(printNode).join('');
}

/** `str(element)` of a top-level string of the soup: its text, unescaped (comments and declarations without their brackets). */
export function plainText(node: HtmlText | HtmlMarkup): string {
  return node.type === 'declaration' ? node.data.replace(/^[!?]/, '') : node.data;
}

/** `find_all(string=True)`: every string below `parent`, in document order. */
export function textNodes(parent: HtmlParent): HtmlText[] {
  return parent.children.flatMap((child) => (child.type === 'text' ? [child] : child.type === 'element' ? textNodes(child) : []));
}

/** `find_all(name)`: every element called `name` below `parent`, in document order. */
export function elementsNamed(parent: HtmlParent, name: string): HtmlElement[] {
  return parent.children.flatMap((child) =>
    child.type === 'element' ? [...(child.name === name ? [child] : []), ...elementsNamed(child, name)] : [],
  );
}

/** `find_parent(names)`: the nearest enclosing element with one of `names`. */
export function enclosing(node: HtmlNode, names: readonly string[]): HtmlElement | undefined {
  for (let parent = node.parent; parent.type === 'element'; parent = parent.parent) {
    if (names.includes(parent.name)) return parent;
  }
  return undefined;
}

/** `node.replace_with(text)`: a string in its place. */
export function replaceWithText(node: HtmlNode, data: string): void {
  const siblings = node.parent.children;
  siblings[siblings.indexOf(node)] = { type: 'text', data, parent: node.parent };
}

/** `element.clear()` then the top-level nodes of `fragment` appended. */
export function replaceChildren(element: HtmlElement, fragment: HtmlDocument): void {
  element.children = fragment.children;
  for (const child of element.children) child.parent = element;
}
