// Stop strings in decoded text: where the first one starts, and how much of a text's end may still
// change as more tokens arrive. Shared by generate()'s streaming and the server's deltas.

/** Where the earliest stop string starts in `text`, or -1. */
export function firstStop(text: string, stops: readonly string[]): number {
  let first = -1;
  for (const stop of stops) {
    const at = stop === '' ? -1 : text.indexOf(stop);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

/** Length of the tail of `text` that may still change: trailing U+FFFD, then a stop string's start. */
export function unstableTail(text: string, stops: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text[end - 1] === '\uFFFD') end--;
  let held = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, end); k > held; k--) {
      if (text.slice(end - k, end) === stop.slice(0, k)) {
        held = k;
        break;
      }
    }
  }
  return text.length - end + held;
}
