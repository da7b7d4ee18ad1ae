// A structural scanner for HCL2 native syntax. hcl2json gives us values but no positions and
// sorts map keys, so this pass records where every block and attribute starts and the order
// blocks appear in. It runs only on text hcl2json has already accepted as syntactically valid,
// so it tracks structure (blocks, labels, attribute names) and skips over expressions.

export interface SrcPos {
  line: number;
  column: number;
  /** exclusive end column of the name / block type token (same line) */
  endColumn: number;
}

export interface SrcAttr extends SrcPos {
  name: string;
  /** where the value expression starts (HCL reports type errors there) */
  exprLine: number;
  exprColumn: number;
}

export interface SrcBlock extends SrcPos {
  type: string;
  labels: string[];
  attrs: Map<string, SrcAttr>;
  blocks: SrcBlock[];
}

class Cursor {
  i = 0;
  line = 1;
  col = 1;
  constructor(readonly s: string) {}
  get eof(): boolean {
    return this.i >= this.s.length;
  }
  peek(o = 0): string {
    return this.s[this.i + o] ?? '';
  }
  next(): string {
    const c = this.s[this.i++] ?? '';
    if (c === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }
  startsWith(t: string): boolean {
    return this.s.startsWith(t, this.i);
  }
}

const identStart = /[A-Za-z_]/;
const identChar = /[A-Za-z0-9_-]/;

/** Skip spaces, tabs, carriage returns and comments; stop before a newline unless `newlines`. */
function skipTrivia(c: Cursor, newlines: boolean): void {
  for (;;) {
    const ch = c.peek();
    if (ch === ' ' || ch === '\t' || ch === '\r' || (newlines && ch === '\n')) {
      c.next();
    } else if (ch === '#' || (ch === '/' && c.peek(1) === '/')) {
      while (!c.eof && c.peek() !== '\n') c.next();
    } else if (ch === '/' && c.peek(1) === '*') {
      c.next();
      c.next();
      while (!c.eof && !(c.peek() === '*' && c.peek(1) === '/')) c.next();
      c.next();
      c.next();
    } else {
      return;
    }
  }
}

function readIdent(c: Cursor): string {
  let out = '';
  while (!c.eof && identChar.test(c.peek())) out += c.next();
  return out;
}

/** Skip a quoted template string; the cursor is on the opening quote. Returns its literal text. */
function skipQuoted(c: Cursor): string {
  c.next();
  let text = '';
  while (!c.eof) {
    const ch = c.peek();
    if (ch === '\\') {
      c.next();
      const e = c.next();
      text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
    } else if (ch === '"') {
      c.next();
      return text;
    } else if ((ch === '$' || ch === '%') && c.peek(1) === '{') {
      c.next();
      c.next();
      skipUntilClose(c, '}');
      text += '…';
    } else if ((ch === '$' || ch === '%') && c.peek(1) === ch && c.peek(2) === '{') {
      text += c.next();
      c.next();
    } else {
      text += c.next();
    }
  }
  return text;
}

function skipHeredoc(c: Cursor): void {
  c.next();
  c.next();
  if (c.peek() === '-') c.next();
  const marker = readIdent(c);
  while (!c.eof && c.peek() !== '\n') c.next();
  while (!c.eof) {
    c.next(); // newline
    let line = '';
    while (!c.eof && c.peek() !== '\n') line += c.next();
    if (line.trim() === marker) return;
  }
}

/** Skip expression text until the matching close bracket (consumed). */
function skipUntilClose(c: Cursor, close: string): void {
  while (!c.eof) {
    const ch = c.peek();
    if (ch === close) {
      c.next();
      return;
    }
    skipExprAtom(c, true);
  }
}

/** Skip one piece of an expression: a string, heredoc, bracketed group, comment or a char. */
function skipExprAtom(c: Cursor, newlines: boolean): void {
  const ch = c.peek();
  if (ch === '"') skipQuoted(c);
  else if (ch === '<' && c.peek(1) === '<' && /[-A-Za-z_]/.test(c.peek(2))) skipHeredoc(c);
  else if (ch === '(') {
    c.next();
    skipUntilClose(c, ')');
  } else if (ch === '[') {
    c.next();
    skipUntilClose(c, ']');
  } else if (ch === '{') {
    c.next();
    skipUntilClose(c, '}');
  } else if (ch === '#' || (ch === '/' && (c.peek(1) === '/' || c.peek(1) === '*'))) skipTrivia(c, newlines);
  else c.next();
}

/** Skip an attribute's expression: to the end of the line, or to a `}` closing the body. */
function skipExpression(c: Cursor): void {
  while (!c.eof) {
    const ch = c.peek();
    if (ch === '\n' || ch === '}') return;
    if (ch === '#' || (ch === '/' && c.peek(1) === '/')) {
      skipTrivia(c, false);
      return;
    }
    skipExprAtom(c, false);
  }
}

function parseBody(c: Cursor, into: SrcBlock, topLevel: boolean): void {
  for (;;) {
    skipTrivia(c, true);
    if (c.eof) return;
    if (c.peek() === '}') {
      // At top level a stray `}` cannot occur in valid input; consume it to keep making progress.
      c.next();
      if (!topLevel) return;
      continue;
    }
    if (!identStart.test(c.peek())) {
      c.next(); // not reachable for valid input; keep making progress
      continue;
    }
    const line = c.line;
    const column = c.col;
    const name = readIdent(c);
    const endColumn = c.col;
    skipTrivia(c, false);
    if (c.peek() === '=' && c.peek(1) !== '=') {
      c.next();
      skipTrivia(c, false);
      into.attrs.set(name, { name, line, column, endColumn, exprLine: c.line, exprColumn: c.col });
      skipExpression(c);
      continue;
    }
    const block: SrcBlock = { type: name, labels: [], line, column, endColumn, attrs: new Map(), blocks: [] };
    for (;;) {
      skipTrivia(c, false);
      const ch = c.peek();
      if (ch === '"') block.labels.push(skipQuoted(c));
      else if (identStart.test(ch)) block.labels.push(readIdent(c));
      else break;
    }
    if (c.peek() === '{') {
      c.next();
      into.blocks.push(block);
      parseBody(c, block, false);
    } else {
      // Not valid HCL; hcl2json would have rejected it. Skip the rest of the line.
      skipExpression(c);
    }
  }
}

export function scanHcl(src: string): SrcBlock {
  const root: SrcBlock = { type: '', labels: [], line: 1, column: 1, endColumn: 1, attrs: new Map(), blocks: [] };
  parseBody(new Cursor(src), root, true);
  return root;
}
