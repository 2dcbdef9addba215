// The tools a task may use, and what kind each is: a read runs at once, a write waits at the
// approval desk, an ask waits for the user.
import type { Activities } from '../../activities/index.js';
import { toolKind } from '../../contracts/tools.js';
import type { AgentOptions } from '../messages.js';
import { summaries, withSummary } from '../policy/summaries.js';

/** A tool or a call of one. `kind` is a string here: recorded histories carry kinds the registry no longer declares. */
export interface ToolWithKind {
  name: string;
  kind: string;
}

/**
 * Before tools declared the kind 'ask', ask_user was a 'read' tool known by its name — and
 * recorded histories still say so in their listTools and decideNextStep results, which replay
 * as they were recorded. So that name with kind 'read' is an ask too.
 */
const LEGACY_ASK_TOOL = 'ask_user';

/** A question to the user: the task waits for the reply. */
export function isAsk(tool: ToolWithKind): boolean {
  return tool.kind === toolKind.enum.ask || (tool.kind === toolKind.enum.read && tool.name === LEGACY_ASK_TOOL);
}

/** A tool that only reads: it runs at once, and a plan's sub-tasks may use it. */
export function isRead(tool: ToolWithKind): boolean {
  return tool.kind === toolKind.enum.read && !isAsk(tool);
}

export function isWrite(tool: ToolWithKind): boolean {
  return tool.kind === toolKind.enum.write;
}

export class ToolCatalog {
  private kinds: ToolWithKind[] | undefined;

  constructor(
    private readonly bookkeeping: Pick<Activities, 'listTools'>,
    private readonly options: Pick<AgentOptions, 'tools'>,
  ) {}

  /** The registry's tools the task may use (all, unless its options name some); listed once per run. */
  async allowed(): Promise<string[]> {
    this.kinds ??= await withSummary(this.bookkeeping.listTools, summaries.listTools());
    const names = this.kinds.map((t) => t.name);
    return this.options.tools ? names.filter((t) => this.options.tools!.includes(t)) : names;
  }

  /** Of `names` (listed by allowed()), the ones that only read. */
  readOnly(names: string[]): string[] {
    return names.filter((name) => {
      const tool = this.kinds?.find((k) => k.name === name);
      return tool !== undefined && isRead(tool);
    });
  }
}
