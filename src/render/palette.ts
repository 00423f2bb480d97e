// The colours of iact's text output (plan, diff): ANSI SGR when asked, the text itself otherwise. Pure.
type Paint = (text: string) => string;

export interface Palette {
  green: Paint;
  yellow: Paint;
  red: Paint;
  cyan: Paint;
  bold: Paint;
  dim: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (t) =>
    t === '' ? t : `\u001b[${open}m${t}\u001b[${close}m`;
const plain: Paint = (t) => t;

export function palette(color: boolean): Palette {
  if (!color) return { green: plain, yellow: plain, red: plain, cyan: plain, bold: plain, dim: plain };
  return { green: sgr(32, 39), yellow: sgr(33, 39), red: sgr(31, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
}

/** A line's mark in its colour: + added, - removed, ~ changed, -/+ replaced, > started, ! not compared. */
export function paintMark(mark: string, p: Palette): string {
  switch (mark) {
    case '+':
      return p.green(mark);
    case '-':
    case '!':
      return p.red(mark);
    case '~':
      return p.yellow(mark);
    case '-/+':
      return `${p.red('-')}/${p.green('+')}`;
    case '>':
      return p.cyan(mark);
    default:
      return mark;
  }
}
