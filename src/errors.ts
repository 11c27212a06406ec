// One place for argument checks and their messages, so that every public
// function names its culprit the same way:
//   "Expected positive integer for intervalMicros but received 0.5 of type number"
// TypeError for a wrong type, RangeError for a value out of range.

export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'function') shown = `function ${value.name || '(anonymous)'}`;
  else if (value === null) return 'null';
  else if (Array.isArray(value)) shown = 'an array';
  else if (typeof value === 'object') shown = 'an object';
  else shown = String(value);
  return `${shown} of type ${Array.isArray(value) ? 'array' : typeof value}`;
}

export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

export function invalidValue(name: string, expected: string, value: unknown): RangeError {
  return new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// An integer within [min, max], or the matching TypeError / RangeError.
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalidType(name, `an integer from ${min} to ${max}`, value);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidValue(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value;
}

export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a string', value);
  return value;
}
