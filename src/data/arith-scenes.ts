// The stories behind the synthetic `arith` task (arith.ts). Four scenes (a person with things, a
// shop, a train, a school), each with several phrasings per event, and the builder that turns a
// level's plan of events into a question, a worked solution (one "x op y = z" line per step, then
// "The answer is \boxed{z}.") and the canonical expression of the computation ("20+3*4-2*5"),
// from which arith.ts splits train from test. Every value, intermediate or final, lies in
// [2, 999], so plurals are always right and no number needs a thousands separator. Every word the
// scenes can write is in ARITH_VOCABULARY, for the small tokenizer of a tiny model.

import type { SeededRandom } from './seeded-random.ts';

export type ArithLevel = 1 | 2 | 3 | 4;

/** Template slots: S the person a people scene is about, X another person, Y the one compared in a
 * final "times as many"; a a starting amount, n an amount added or taken, g groups of p, (a +- b)
 * parts of k each, k also the factor of "times as many"; bag/bags the unit of a group, part/parts
 * the unit of a parenthesised intro. */
interface Scene {
  people: boolean;
  items: readonly string[];
  groups: readonly (readonly [string, string])[];
  /** the unit counted in a parenthesised intro; undefined: the group unit */
  parts?: readonly [string, string];
  /** who "has" the items in solution lines */
  subject: string;
  intro: readonly string[];
  add: readonly string[];
  sub: readonly string[];
  groupAdd: readonly string[];
  groupSub: readonly string[];
  partsAdd: readonly string[];
  partsSub: readonly string[];
  question: string;
  times: { sentence: string; question: string; subject: string };
}

const NAMES = ['Tom', 'Ann', 'Sam', 'Mia', 'Ben', 'Eva', 'Max', 'Zoe'] as const;

const SCENES: readonly Scene[] = [
  {
    people: true,
    items: ['apples', 'pens', 'cards', 'books', 'stamps', 'shells'],
    groups: [['bag', 'bags'], ['box', 'boxes']],
    subject: '{S}',
    intro: ['{S} has {a} {items}.'],
    add: ['{S} gets {n} more {items}.', '{S} buys {n} more {items}.', '{X} gives {S} {n} more {items}.', '{S} finds {n} more {items}.'],
    sub: ['{S} gives {n} {items} to {X}.', '{S} loses {n} {items}.', '{S} sells {n} {items}.'],
    groupAdd: ['{S} buys {g} {bags} with {p} {items} in each {bag}.', '{X} gives {S} {g} {bags} with {p} {items} in each {bag}.'],
    groupSub: ['{S} gives {X} {g} {bags} with {p} {items} in each {bag}.', '{S} sells {g} {bags} with {p} {items} in each {bag}.'],
    partsAdd: ['{S} has {a} {parts}. {S} buys {b} more {parts}. Each {part} has {k} {items}.', '{S} has {a} red {parts} and {b} blue {parts}. Each {part} has {k} {items}.'],
    partsSub: ['{S} has {a} {parts}. {S} gives {b} {parts} to {X}. Each {part} has {k} {items}.'],
    question: 'How many {items} does {S} have now?',
    times: { sentence: '{Y} has {k} times as many {items} as {S}.', question: 'How many {items} does {Y} have?', subject: '{Y}' },
  },
  {
    people: false,
    items: ['cakes', 'pies', 'hats', 'cups', 'toys'],
    groups: [['box', 'boxes']],
    subject: 'The shop',
    intro: ['A shop has {a} {items}.', 'There are {a} {items} in a shop.'],
    add: ['The shop gets {n} more {items}.', 'The shop makes {n} more {items}.'],
    sub: ['The shop sells {n} {items}.', '{X} buys {n} {items} from the shop.'],
    groupAdd: ['The shop gets {g} {bags} with {p} {items} in each {bag}.'],
    groupSub: ['{X} buys {g} {bags} with {p} {items} in each {bag} from the shop.', 'The shop sells {g} {bags} with {p} {items} in each {bag}.'],
    partsAdd: ['A shop has {a} {parts} of {items}. The shop gets {b} more {parts}. Each {part} has {k} {items}.'],
    partsSub: ['A shop has {a} {parts} of {items}. The shop sells {b} {parts}. Each {part} has {k} {items}.'],
    question: 'How many {items} does the shop have now?',
    times: { sentence: 'Another shop has {k} times as many {items} as this shop.', question: 'How many {items} does the other shop have?', subject: 'The other shop' },
  },
  {
    people: false,
    items: ['people'],
    groups: [['group', 'groups']],
    parts: ['car', 'cars'],
    subject: 'The train',
    intro: ['A train has {a} people on it.', 'There are {a} people on a train.'],
    add: ['At the next stop, {n} people get on.', 'Then {n} more people get on the train.'],
    sub: ['At the next stop, {n} people get off.', 'Then {n} people get off the train.'],
    groupAdd: ['At the next stop, {g} {bags} of {p} people get on.'],
    groupSub: ['At the next stop, {g} {bags} of {p} people get off.'],
    partsAdd: ['A train has {a} {parts}. Then {b} more {parts} are added to the train. Each {part} has {k} people in it.'],
    partsSub: ['A train has {a} {parts}. Then {b} {parts} are taken off the train. Each {part} has {k} people in it.'],
    question: 'How many people are on the train now?',
    times: { sentence: 'A bus has {k} times as many people as the train.', question: 'How many people are on the bus?', subject: 'The bus' },
  },
  {
    people: false,
    items: ['children'],
    groups: [['class', 'classes']],
    subject: 'The school',
    intro: ['A school has {a} children.', 'There are {a} children in a school.'],
    add: ['Then {n} more children join the school.', 'Then {n} new children come to the school.'],
    sub: ['Then {n} children leave the school.'],
    groupAdd: ['The school opens {g} new {bags} with {p} children in each {bag}.'],
    groupSub: ['Then {g} {bags} with {p} children in each {bag} leave the school.'],
    partsAdd: ['A school has {a} {parts}. The school opens {b} more {parts}. Each {part} has {k} children.'],
    partsSub: ['A school has {a} {parts}. The school closes {b} {parts}. Each {part} has {k} children.'],
    question: 'How many children are in the school now?',
    times: { sentence: 'Another school has {k} times as many children as this school.', question: 'How many children are in the other school?', subject: 'The other school' },
  },
];

/** Every word the generator can write, 88 of them (case-sensitive; digits and punctuation aside). */
export const ARITH_VOCABULARY: readonly string[] = [
  'A', 'Ann', 'Another', 'At', 'Ben', 'Each', 'Eva', 'How', 'Max', 'Mia', 'Sam', 'The', 'Then', 'There', 'Tom',
  'Zoe', 'a', 'added', 'and', 'answer', 'apples', 'are', 'as', 'bag', 'bags', 'blue', 'books', 'box', 'boxed',
  'boxes', 'bus', 'buys', 'cakes', 'car', 'cards', 'cars', 'children', 'class', 'classes', 'closes', 'come', 'cups',
  'does', 'each', 'finds', 'from', 'get', 'gets', 'gives', 'groups', 'has', 'hats', 'have', 'in', 'is', 'it', 'join',
  'leave', 'loses', 'makes', 'many', 'more', 'new', 'next', 'now', 'of', 'off', 'on', 'opens', 'other', 'pens',
  'people', 'pies', 'red', 'school', 'sells', 'shells', 'shop', 'stamps', 'stop', 'taken', 'the', 'this', 'times',
  'to', 'toys', 'train', 'with',
];

export interface BuiltProblem {
  question: string;
  solution: string;
  label: string;
  /** the computation with the usual precedence, e.g. "(5+3)*6-4"; the problem's canonical key */
  expression: string;
}

type Event = 'add' | 'sub' | 'gadd' | 'gsub' | 'times';
type Range = readonly [number, number];

interface Ranges {
  start: Range;
  n: Range;
  g: Range;
  p: Range;
  k: Range;
  /** parts a and b, and the items per part */
  part: Range;
  perPart: Range;
}

const MIN_VALUE = 2;
const MAX_VALUE = 999;

// Levels 1 and 2 only add and subtract; their products are never drawn.
const PRODUCTS = { g: [2, 9], p: [2, 12], k: [2, 5], part: [2, 15], perPart: [2, 12] } as const;
const RANGES: Record<ArithLevel, Ranges> = {
  1: { start: [2, 99], n: [2, 50], ...PRODUCTS },
  2: { start: [10, 99], n: [2, 60], ...PRODUCTS },
  3: { start: [10, 99], n: [2, 50], ...PRODUCTS },
  4: { start: [20, 150], n: [2, 99], g: [2, 12], p: [2, 15], k: [2, 5], part: [2, 20], perPart: [2, 15] },
};

interface Plan {
  /** start with (a + b) * k or (a - b) * k instead of a plain amount */
  parts?: '+' | '-';
  events: Event[];
}

function single(rng: SeededRandom): Event {
  return rng.next() < 0.5 ? 'add' : 'sub';
}

function grouped(rng: SeededRandom): Event {
  return rng.next() < 0.5 ? 'gadd' : 'gsub';
}

function sign(rng: SeededRandom): '+' | '-' {
  return rng.next() < 0.5 ? '+' : '-';
}

/** The events of a level. Steps: add, sub, times 1 each; gadd, gsub and a parts intro 2 each. */
function planFor(level: ArithLevel, rng: SeededRandom): Plan {
  if (level === 1) return { events: [single(rng)] };
  if (level === 2) return { events: [single(rng), single(rng)] };
  if (level === 3) {
    switch (rng.int(0, 2)) {
      case 0:
        return { events: rng.shuffle([grouped(rng), single(rng)]) }; // 20+3*4-5
      case 1:
        return { events: [single(rng), single(rng), 'times'] }; // (20+3-5)*4
      default:
        return { parts: sign(rng), events: [single(rng)] }; // (5+3)*6-4
    }
  }
  switch (rng.int(0, 3)) {
    case 0:
      return { events: [grouped(rng), grouped(rng)] }; // 20+3*4-2*5
    case 1:
      return { parts: sign(rng), events: [single(rng), single(rng)] }; // (5+3)*6-4+7
    case 2:
      return { parts: sign(rng), events: [grouped(rng)] }; // (5+3)*6+2*5
    default:
      return { events: [...rng.shuffle([single(rng), grouped(rng)]), 'times'] }; // (20+7-3*4)*2
  }
}

interface Slots {
  S: string;
  X: string;
  Y: string;
  items: string;
  bag: string;
  bags: string;
  part: string;
  parts: string;
  a: number;
  b: number;
  k: number;
  n: number;
  g: number;
  p: number;
}

/** Templates split once into [text, slot, text, slot, ..., text]. */
const compiled = new Map<string, readonly string[]>();

function fill(template: string, slots: Slots): string {
  let pieces = compiled.get(template);
  if (pieces === undefined) {
    pieces = template.split(/\{(\w+)\}/);
    for (let i = 1; i < pieces.length; i += 2) {
      if (!(pieces[i]! in slots)) throw new Error(`arith: unknown template slot {${pieces[i]}} in "${template}"`);
    }
    compiled.set(template, pieces);
  }
  let out = pieces[0]!;
  for (let i = 1; i < pieces.length; i += 2) out += String(slots[pieces[i] as keyof Slots]) + pieces[i + 1]!;
  return out;
}

function otherName(rng: SeededRandom, not: string): string {
  let name: string = rng.pick(NAMES);
  while (name === not) name = rng.pick(NAMES);
  return name;
}

function hasLine(who: string, x: number, op: string, y: number, z: number, what: string): string {
  return `${who} has ${x} ${op} ${y} = ${z} ${what}.`;
}

function inRange(v: number): boolean {
  return v >= MIN_VALUE && v <= MAX_VALUE;
}

/** One problem of `level`, or undefined when the sampled numbers leave [2, 999] (the caller redraws). */
export function buildProblem(level: ArithLevel, rng: SeededRandom): BuiltProblem | undefined {
  const r = RANGES[level];
  const scene = rng.pick(SCENES);
  const plan = planFor(level, rng);
  const [bag, bags] = rng.pick(scene.groups);
  const [part, parts] = scene.parts ?? [bag, bags];
  const S = scene.people ? rng.pick(NAMES) : '';
  const items = rng.pick(scene.items);
  const slots: Slots = { S, X: '', Y: '', items, bag, bags, part, parts, a: 0, b: 0, k: 0, n: 0, g: 0, p: 0 };
  const subject = fill(scene.subject, slots);
  const question: string[] = [];
  const lines: string[] = [];

  let total: number;
  let expression: string;
  let additive = false; // the expression's top operator is + or -
  if (plan.parts === undefined) {
    total = slots.a = rng.int(r.start[0], r.start[1]);
    expression = String(total);
    question.push(fill(rng.pick(scene.intro), slots));
  } else {
    const plus = plan.parts === '+';
    const a = (slots.a = plus ? rng.int(r.part[0], r.part[1]) : rng.int(r.part[0] + 2, r.part[1]));
    const b = (slots.b = plus ? rng.int(r.part[0], r.part[1]) : rng.int(r.part[0], a - 2));
    const k = (slots.k = rng.int(r.perPart[0], r.perPart[1]));
    const units = plus ? a + b : a - b;
    total = units * k;
    if (!inRange(units) || !inRange(total)) return undefined;
    expression = `(${a}${plan.parts}${b})*${k}`;
    slots.X = otherName(rng, S);
    question.push(fill(rng.pick(plus ? scene.partsAdd : scene.partsSub), slots));
    lines.push(hasLine(subject, a, plan.parts, b, units, parts), hasLine(subject, units, '*', k, total, items));
  }

  for (const event of plan.events) {
    if (event === 'times') {
      const k = (slots.k = rng.int(r.k[0], r.k[1]));
      slots.Y = scene.people ? otherName(rng, S) : '';
      const next = total * k;
      if (!inRange(next)) return undefined;
      question.push(fill(scene.times.sentence, slots), fill(scene.times.question, slots));
      lines.push(hasLine(fill(scene.times.subject, slots), total, '*', k, next, items));
      expression = additive ? `(${expression})*${k}` : `${expression}*${k}`;
      additive = false;
      total = next;
      continue;
    }
    const plus = event === 'add' || event === 'gadd';
    slots.X = otherName(rng, S);
    let amount: number;
    if (event === 'gadd' || event === 'gsub') {
      const g = (slots.g = rng.int(r.g[0], r.g[1]));
      const p = (slots.p = rng.int(r.p[0], r.p[1]));
      amount = g * p;
      question.push(fill(rng.pick(plus ? scene.groupAdd : scene.groupSub), slots));
      lines.push(`The ${g} ${bags} have ${g} * ${p} = ${amount} ${items}.`);
      expression += `${plus ? '+' : '-'}${g}*${p}`;
    } else {
      const most = plus ? r.n[1] : Math.min(r.n[1], total - MIN_VALUE);
      if (most < r.n[0]) return undefined;
      amount = slots.n = rng.int(r.n[0], most);
      question.push(fill(rng.pick(plus ? scene.add : scene.sub), slots));
      expression += `${plus ? '+' : '-'}${amount}`;
    }
    const next = plus ? total + amount : total - amount;
    if (!inRange(next)) return undefined;
    lines.push(hasLine(subject, total, plus ? '+' : '-', amount, next, items));
    additive = true;
    total = next;
  }

  if (plan.events[plan.events.length - 1] !== 'times') question.push(fill(scene.question, slots));
  lines.push(`The answer is \\boxed{${total}}.`);
  return { question: question.join(' '), solution: lines.join('\n'), label: String(total), expression };
}
