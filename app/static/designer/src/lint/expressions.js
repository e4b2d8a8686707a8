// A reading (not an evaluation) of the Python expressions timers and due dates hold, for linting while
// drawing: balanced brackets, closed strings, calls only to functions a script may call, and a literal
// (e.g. "P10D") in the ISO 8601 form the engine reads (SpiffWorkflow's TimerEventDefinition:
// a duration starts with P, otherwise a datetime; a cycle is R[n]/…). Deploy evaluates the rest.

const OPEN = { '(': ')', '[': ']', '{': '}' };
const CLOSE = new Set([')', ']', '}']);
const ENDS_EARLY = new Set(['+', '-', '*', '/', '%', '**', '//', '==', '!=', '<', '>', '<=', '>=', ',', '.', 'and', 'or', 'not', 'in', 'is', 'if', 'else', '=']);
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'None', 'True', 'False', 'for', 'lambda']);

const DURATION = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function problem(reason, values = {}) {
  return { reason, values };
}

function isDatetime(text) {
  const m = DATETIME.exec(text);
  if (!m) {
    return false;
  }
  const [, , month, day, hour = '0', minute = '0', second = '0'] = m;
  return +month >= 1 && +month <= 12 && +day >= 1 && +day <= 31 && +hour < 24 && +minute < 60 && +second < 60;
}

/** Whether a literal value is what the engine reads for a timer of `kind` (or a due date). */
export function literalProblem(value, kind) {
  const text = value.trim();
  if (kind === 'cycle') {
    const parts = text.split('/');
    const ok = /^R\d*$/.test(parts[0]) && parts.length >= 2 && parts.length <= 3 &&
      parts.slice(1).every((part) => DURATION.test(part) || isDatetime(part)) &&
      parts.slice(1).some((part) => DURATION.test(part));
    return ok ? null : problem('"{value}" is not an ISO 8601 cycle such as R3/PT10M', { value: text });
  }
  if (kind === 'datetime') {
    return isDatetime(text) ? null : problem('"{value}" is not an ISO 8601 datetime such as 2026-03-16T09:00:00+08:00', { value: text });
  }
  // date and duration timers: SpiffWorkflow reads a duration (P…) or a datetime either way
  return DURATION.test(text) || isDatetime(text)
    ? null
    : problem('"{value}" is not an ISO 8601 datetime or duration such as P10D', { value: text });
}

function tokenize(source) {
  const tokens = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const quote = /^[rRbBuUfF]{0,2}(['"])/.exec(source.slice(i));
    if (quote && (quote[0].length === 1 || /[A-Za-z]/.test(c))) {
      const q = quote[1];
      const start = i + quote[0].length;
      let j = start;
      while (j < source.length && source[j] !== q) {
        j += source[j] === '\\' ? 2 : 1;
      }
      if (j >= source.length) {
        return { error: problem('a string is not closed') };
      }
      tokens.push({ type: 'string', value: source.slice(start, j) });
      i = j + 1;
      continue;
    }
    const number = /^\d[\d_]*(\.\d+)?([eE][+-]?\d+)?/.exec(source.slice(i));
    if (number) {
      tokens.push({ type: 'number', value: number[0] });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*/.exec(source.slice(i));
    if (name) {
      tokens.push({ type: KEYWORDS.has(name[0]) ? 'op' : 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    const op = /^(\*\*|\/\/|==|!=|<=|>=|[-+*/%<>(){}[\],.:=])/.exec(source.slice(i));
    if (!op) {
      return { error: problem('unexpected character "{char}"', { char: c }) };
    }
    tokens.push({ type: 'op', value: op[0] });
    i += op[0].length;
  }
  return { tokens };
}

/**
 * Null when `source` reads as an expression giving a `kind` ('date', 'duration', 'cycle' timers;
 * 'datetime' for a due date); otherwise {reason, values}: an English template for `translate`.
 * `functions`: the names a script may call (helpers and builtins); omitted, calls are not checked.
 */
export function checkExpression(source, kind, functions) {
  const { tokens, error } = tokenize(source);
  if (error) {
    return error;
  }
  if (!tokens.length) {
    return problem('the expression is empty');
  }
  const stack = [];
  for (const [index, token] of tokens.entries()) {
    if (token.type !== 'op') {
      const next = tokens[index + 1];
      const previous = tokens[index - 1];
      const called = token.type === 'name' && next && next.value === '(';
      const method = previous && previous.value === '.';
      if (called && !method && functions && functions.length && !functions.includes(token.value)) {
        return problem('unknown function {name}()', { name: token.value });
      }
      continue;
    }
    if (OPEN[token.value]) {
      stack.push(token.value);
    } else if (CLOSE.has(token.value)) {
      const open = stack.pop();
      if (!open || OPEN[open] !== token.value) {
        return problem('brackets do not match');
      }
    }
  }
  if (stack.length) {
    return problem('a bracket is not closed');
  }
  if (ENDS_EARLY.has(tokens[tokens.length - 1].value)) {
    return problem('the expression ends early');
  }
  if (tokens.length === 1 && tokens[0].type === 'string') {
    return literalProblem(tokens[0].value, kind);
  }
  if (tokens.length === 1 && tokens[0].type === 'number') {
    return problem('a bare number is not a time; write e.g. "P10D"');
  }
  return null;
}
