/**
 * Protobuf text format (Triton's `config.pbtxt`) read against a message type, so every field name,
 * enum value and number is checked and an error names the file, line, column and field path.
 *
 * Hand-written: protobufjs and @bufbuild/protobuf read binary and JSON only, and the npm text-format
 * parsers are unmaintained (the one on npm pins a git fork of protobufjs from 2014).
 */
import protobuf from 'protobufjs';
import { ConfigError } from '../../errors.js';

type Token =
  | { kind: 'ident'; text: string; line: number; col: number }
  | { kind: 'number'; text: string; line: number; col: number }
  | { kind: 'string'; text: string; line: number; col: number }
  | { kind: 'punct'; text: string; line: number; col: number }
  | { kind: 'eof'; text: ''; line: number; col: number };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const fail = (msg: string): never => {
    throw new ConfigError(`${file}:${line}:${i - lineStart + 1}: ${msg}`);
  };
  while (i < text.length) {
    const c = text[i]!;
    const col = i - lineStart + 1;
    if (c === '\n') {
      line++;
      lineStart = ++i;
    } else if (/\s|,|;/.test(c)) {
      i++; // commas and semicolons between fields and list items are optional separators
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i))![0];
      tokens.push({ kind: 'ident', text: m, line, col });
      i += m.length;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|inf|nan)[fF]?/.exec(text.slice(i))?.[0];
      if (!m) fail(`unexpected character ${JSON.stringify(c)}`);
      tokens.push({ kind: 'number', text: m!, line, col });
      i += m!.length;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (text[i] !== c) {
        if (i >= text.length || text[i] === '\n') fail('unterminated string');
        if (text[i] === '\\') {
          const e = text[i + 1]!;
          if (!(e in ESCAPES)) fail(`unknown escape \\${e}`);
          value += ESCAPES[e];
          i += 2;
        } else value += text[i++];
      }
      i++;
      // adjacent strings concatenate, as in protobuf text format
      const prev = tokens.at(-1);
      if (prev?.kind === 'string') prev.text += value;
      else tokens.push({ kind: 'string', text: value, line, col });
    } else if ('{}[]:<>'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line, col });
      i++;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ kind: 'eof', text: '', line, col: i - lineStart + 1 });
  return tokens;
}

const INT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

class TextParser {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private fail(token: Token, msg: string): never {
    throw new ConfigError(`${this.file}:${token.line}:${token.col}: ${msg}`);
  }

  private accept(text: string): boolean {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === text) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Fields of `type` until `end` ('}' / '>' or end of file). */
  message(type: protobuf.Type, path: string, end: string | null): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const t = this.peek();
      if (end === null ? t.kind === 'eof' : t.kind === 'punct' && t.text === end) {
        this.pos++;
        return out;
      }
      if (t.kind === 'eof') this.fail(t, `expected "${end}" to close ${path || 'the message'}`);
      if (t.kind !== 'ident') this.fail(t, `expected a field name, got ${JSON.stringify(t.text)}`);
      this.pos++;
      const field = type.fields[t.text];
      const fieldPath = path ? `${path}.${t.text}` : t.text;
      if (!field) this.fail(t, `${fieldPath}: no such field in ${type.name} (fields: ${Object.keys(type.fields).join(', ')})`);
      field.resolve();
      const isMessage = field.resolvedType instanceof protobuf.Type;
      const colon = this.accept(':');
      if (!colon && !isMessage) this.fail(this.peek(), `${fieldPath}: expected ":"`);
      const values: unknown[] = [];
      if (this.accept('[')) {
        if (!field.repeated && !field.map) this.fail(t, `${fieldPath}: a list given for a field that is not repeated`);
        while (!this.accept(']')) values.push(this.value(field, fieldPath));
      } else {
        values.push(this.value(field, fieldPath));
      }
      if (field.map) {
        const map = (out[field.name] ??= {}) as Record<string, unknown>;
        for (const entry of values as Array<{ key: unknown; value: unknown }>) map[String(entry.key)] = entry.value;
      } else if (field.repeated) {
        ((out[field.name] ??= []) as unknown[]).push(...values);
      } else {
        if (field.name in out) this.fail(t, `${fieldPath}: given twice`);
        out[field.name] = values[0];
      }
    }
  }

  private value(field: protobuf.Field, path: string): unknown {
    if (field.map) {
      // a map entry is written as a message { key: K value: V }
      const open = this.next();
      if (!(open.kind === 'punct' && (open.text === '{' || open.text === '<'))) this.fail(open, `${path}: expected "{" for a map entry`);
      const entryType = new protobuf.Type(`${field.name}Entry`)
        .add(new protobuf.Field('key', 1, (field as unknown as protobuf.MapField).keyType))
        .add(new protobuf.Field('value', 2, field.type));
      field.parent!.add(entryType);
      try {
        return this.message(entryType, path, open.text === '{' ? '}' : '>');
      } finally {
        field.parent!.remove(entryType);
      }
    }
    const t = this.next();
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      if (!(t.kind === 'punct' && (t.text === '{' || t.text === '<'))) this.fail(t, `${path}: expected "{"`);
      return this.message(resolved, path, t.text === '{' ? '}' : '>');
    }
    if (resolved instanceof protobuf.Enum) {
      if (t.kind === 'ident' && t.text in resolved.values) return t.text;
      if (t.kind === 'number' && Object.values(resolved.values).includes(Number(t.text))) return resolved.valuesById[Number(t.text)];
      this.fail(t, `${path}: ${JSON.stringify(t.text)} is not one of ${Object.keys(resolved.values).join(', ')}`);
    }
    if (field.type === 'string' || field.type === 'bytes') {
      if (t.kind !== 'string') this.fail(t, `${path}: expected a quoted string, got ${JSON.stringify(t.text)}`);
      return t.text;
    }
    if (field.type === 'bool') {
      if (t.kind === 'ident' && (t.text === 'true' || t.text === 'True')) return true;
      if (t.kind === 'ident' && (t.text === 'false' || t.text === 'False')) return false;
      if (t.kind === 'number' && (t.text === '0' || t.text === '1')) return t.text === '1';
      this.fail(t, `${path}: expected true or false, got ${JSON.stringify(t.text)}`);
    }
    if (INT_TYPES.has(field.type)) {
      const n = t.kind === 'number' ? Number(t.text) : Number.NaN;
      if (!Number.isInteger(n)) this.fail(t, `${path}: expected an integer, got ${JSON.stringify(t.text)}`);
      if (field.type.startsWith('u') && n < 0) this.fail(t, `${path}: expected an unsigned integer, got ${t.text}`);
      return n;
    }
    // float / double
    const n = t.kind === 'number' ? Number(t.text.replace(/[fF]$/, '')) : Number.NaN;
    if (Number.isNaN(n) && !(t.kind === 'number' && /nan/i.test(t.text)))
      this.fail(t, `${path}: expected a number, got ${JSON.stringify(t.text)}`);
    return n;
  }
}

/** Parses protobuf text format as `type`, returning plain JSON-like data (enums as names, int64 as numbers). */
export function parseTextFormat(text: string, type: protobuf.Type, file: string): Record<string, unknown> {
  return new TextParser(tokenize(text, file), file).message(type, '', null);
}
