// What a command does with a dataset row that cannot be used: by default the first one stops the
// command before any model work, with its `file:line: field: what was expected, found ...`; with
// --skip-bad-rows each is left out and counted, and the command reports the count and the first
// few reasons.

/** How many reasons a summary quotes. */
const QUOTED = 3;

export class BadRows {
  /** bad rows seen (skipped, when skipping) */
  count = 0;
  /** the first few reasons, in order */
  readonly reasons: string[] = [];

  constructor(readonly skip = false) {}

  /** Records a bad row: throws its reason unless rows are skipped. */
  add(reason: string): void {
    if (!this.skip) throw new Error(`${reason} (--skip-bad-rows leaves such rows out)`);
    this.count += 1;
    if (this.reasons.length < QUOTED) this.reasons.push(reason);
  }

  /** One line for the command's log, or undefined when no row was bad. */
  summary(source: string): string | undefined {
    if (this.count === 0) return undefined;
    const more = this.count > this.reasons.length ? `; and ${this.count - this.reasons.length} more` : '';
    return `skipped ${this.count} bad row${this.count > 1 ? 's' : ''} of ${source}: ${this.reasons.join('; ')}${more}`;
  }
}
