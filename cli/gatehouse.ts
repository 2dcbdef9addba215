// `gatehouse`: a small command line on the HTTP API — start a task, watch its events, list
// pending approvals, approve or reject them, send a follow-up, manage prompt versions, rate an
// answer, replay a task's history. Needs GATEHOUSE_API_KEY (and GATEHOUSE_URL when the API is not
// on http://127.0.0.1:8080).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const USAGE = `gatehouse — Gatehouse on the command line

  gatehouse start "<task>" [--mode loop|plan] [--collection NAME] [--watch]
  gatehouse watch <taskId>                 stream a task's events until it ends
  gatehouse status <taskId>                a task's status, steps and pending approvals
  gatehouse approvals [--status pending]   approvals across tasks
  gatehouse approve <taskId> <approvalId> [--edit '<json arguments>']
  gatehouse reject <taskId> <approvalId> --reason "<why>"
  gatehouse approval-token <taskId> <approvalId> [--decision approve|reject] [--reason "<why>"]
                                           your decision, signed, as the input of the
                                           approvalDecision Signal to send from the Temporal UI
  gatehouse message <taskId> "<text>"      a follow-up, or the answer to the agent's question
  gatehouse prompts [<name>]               the prompts and the version in force, or one prompt's versions
  gatehouse prompt-create <name> <file>    store the file's text as a new version (admin)
  gatehouse prompt-activate <name> <version> [--share PERCENT]
                                           put it in force, or below 100 % as a candidate (admin)
  gatehouse prompt-compare <name>          its versions on the same numbers and feedback
  gatehouse feedback <taskId> --score 1-5 | --thumbs up|down [--comment "<text>"] [--turn N]
  gatehouse replay <taskId> [--file history.json]
                                           replay the task's history (an operator key; or a
                                           history file) against this checkout's workflow code
                                           with the workers' payload keys: OK, or the
                                           non-determinism error (exit 1)

Environment: GATEHOUSE_URL (default http://127.0.0.1:8080), GATEHOUSE_API_KEY (required);
replay also reads the workers' PAYLOAD_ENCRYPTION_KEYS (or GATEHOUSE_DATA_DIR in the embedded mode).`;

const baseUrl = (process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const apiKey = process.env.GATEHOUSE_API_KEY;

class CliError extends Error {}

async function api(method: string, path: string, body?: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the API, printed or read field by field
  if (!apiKey) throw new CliError('GATEHOUSE_API_KEY is not set (npm start prints the dev key)');
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${baseUrl}: ${(err as Error).message}`);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status >= 400) throw new CliError(`${res.status} ${json?.error?.code ?? ''}: ${json?.error?.message ?? text}`);
  return json;
}

function printApproval(a: { taskId?: string; approvalId: string; tool: string; preview: { summary: string; changes: unknown }; rationale: string; provenance: unknown[]; argumentsHash: string; expiresAt: string; approvedBy?: string[]; approvalsNeeded?: number }) {
  console.log(`• ${a.taskId ? `${a.taskId} ` : ''}${a.approvalId}  ${a.tool}: ${a.preview.summary}`);
  if (a.rationale) console.log(`    why:        ${a.rationale}`);
  console.log(`    changes:    ${JSON.stringify(a.preview.changes)}`);
  for (const p of a.provenance as Array<Record<string, unknown>>) console.log(`    from:       ${provenanceLine(p)}`);
  if ((a.approvalsNeeded ?? 1) > 1) console.log(`    approvers:  ${a.approvedBy?.length ?? 0} of ${a.approvalsNeeded}`);
  console.log(`    expires:    ${a.expiresAt}`);
}

/** One argument's source: "to ← document_chunk vendor-note (chunk 4, v1) UNTRUSTED: …excerpt". */
function provenanceLine(p: Record<string, unknown>): string {
  const where = p.documentId ? ` ${p.documentId} (chunk ${p.chunkId}${p.version ? `, v${p.version}` : ''})` : p.tool ? ` ${p.tool}${p.callId ? `, call ${p.callId}` : ''}` : p.ref ? ` ${p.ref}` : '';
  // Approvals proposed before provenance was per argument have no argument.
  const argument = p.argument ? `${p.argument} ← ` : '';
  return `${argument}${p.type}${where}${p.untrusted ? ' UNTRUSTED' : ''}: ${String(p.excerpt ?? '').replace(/\s+/g, ' ').slice(0, 120)}`;
}

async function watch(taskId: string): Promise<void> {
  if (!apiKey) throw new CliError('GATEHOUSE_API_KEY is not set');
  const res = await fetch(`${baseUrl}/v1/tasks/${taskId}/events`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!res.ok || !res.body) throw new CliError(`${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || !data) continue;
      const d = JSON.parse(data) as Record<string, unknown>;
      const { seq, at, ...rest } = d;
      const line =
        event === 'approval_requested'
          ? `approval requested ${rest.approvalId} ${rest.tool}: ${rest.preview}  → gatehouse approvals`
          : event === 'final_answer'
            ? `answer (${rest.endReason}): ${rest.answer}`
            : `${event} ${JSON.stringify(rest)}`;
      console.log(`[${String(at).slice(11, 19)} #${seq}] ${line}`);
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mode: { type: 'string' },
      collection: { type: 'string' },
      watch: { type: 'boolean' },
      status: { type: 'string' },
      edit: { type: 'string' },
      reason: { type: 'string' },
      decision: { type: 'string' },
      share: { type: 'string' },
      score: { type: 'string' },
      thumbs: { type: 'string' },
      comment: { type: 'string' },
      turn: { type: 'string' },
      file: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (!command || values.help) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'start': {
      if (!args[0]) throw new CliError('usage: gatehouse start "<task>"');
      const r = await api('POST', '/v1/tasks', { type: 'agent', input: args[0], collection: values.collection, options: values.mode ? { mode: values.mode } : undefined });
      console.log(`task ${r.taskId} started`);
      if (values.watch) await watch(r.taskId);
      return;
    }
    case 'watch':
      if (!args[0]) throw new CliError('usage: gatehouse watch <taskId>');
      return watch(args[0]);
    case 'status': {
      if (!args[0]) throw new CliError('usage: gatehouse status <taskId>');
      const t = await api('GET', `/v1/tasks/${args[0]}`);
      console.log(`${t.taskId}  ${t.type}  ${t.status}${t.agent ? `  steps ${t.agent.used.steps}/${t.agent.budgets.maxSteps}, $${t.agent.used.costUsd}` : ''}`);
      for (const s of t.steps) console.log(`  ${s.status.padEnd(9)} ${s.name}${s.latencyMs !== undefined ? ` ${s.latencyMs} ms` : ''}${s.detail?.summary ? `  ${s.detail.summary}` : ''}`);
      for (const a of t.agent?.pendingApprovals ?? []) printApproval(a);
      if (t.result?.answer) console.log(`answer: ${t.result.answer}`);
      return;
    }
    case 'approvals': {
      const r = await api('GET', `/v1/approvals?status=${encodeURIComponent(values.status ?? 'pending')}`);
      if (r.approvals.length === 0) console.log('no approvals');
      for (const a of r.approvals) printApproval(a);
      return;
    }
    case 'approve':
    case 'reject': {
      const [taskId, approvalId] = args;
      if (!taskId || !approvalId) throw new CliError(`usage: gatehouse ${command} <taskId> <approvalId>`);
      if (command === 'reject' && !values.reason) throw new CliError('a rejection needs --reason "<why>" (the agent reads it)');
      // Decide on exactly what is pending now: its hash goes with the decision.
      const task = await api('GET', `/v1/tasks/${taskId}`);
      const pending = (task.agent?.pendingApprovals ?? []).find((a: { approvalId: string }) => a.approvalId === approvalId);
      if (!pending) throw new CliError(`approval ${approvalId} is not pending in task ${taskId}`);
      let edited: unknown;
      if (values.edit) {
        try {
          edited = JSON.parse(values.edit);
        } catch {
          throw new CliError('--edit must be JSON arguments, e.g. \'{"amountUsd": 40}\'');
        }
        edited = { ...pending.arguments, ...(edited as object) };
      }
      const r = await api('POST', `/v1/tasks/${taskId}/approvals/${approvalId}`, {
        decision: command,
        argumentsHash: pending.argumentsHash,
        reason: values.reason,
        arguments: edited,
      });
      console.log(`${approvalId}: ${r.status}${r.newApprovalId ? ` → review ${r.newApprovalId}` : ''}${r.result ? ` ${JSON.stringify(r.result)}` : ''}${r.error ? ` (${r.error})` : ''}`);
      return;
    }
    case 'approval-token': {
      const [taskId, approvalId] = args;
      if (!taskId || !approvalId) throw new CliError('usage: gatehouse approval-token <taskId> <approvalId> [--decision approve|reject]');
      const decision = values.decision ?? 'approve';
      if (decision !== 'approve' && decision !== 'reject') throw new CliError('--decision must be approve or reject');
      const task = await api('GET', `/v1/tasks/${taskId}`);
      const pending = (task.agent?.pendingApprovals ?? []).find((a: { approvalId: string }) => a.approvalId === approvalId);
      if (!pending) throw new CliError(`approval ${approvalId} is not pending in task ${taskId}`);
      const r = await api('POST', `/v1/tasks/${taskId}/approvals/${approvalId}/token`, { decision, argumentsHash: pending.argumentsHash, reason: values.reason });
      console.error(`Temporal UI → workflow ${taskId} → Send a Signal: name "${r.signal.name}", input below (valid until ${r.expiresAt}):`);
      console.log(JSON.stringify(r.signal.input));
      return;
    }
    case 'message': {
      const [taskId, text] = args;
      if (!taskId || !text) throw new CliError('usage: gatehouse message <taskId> "<text>"');
      await api('POST', `/v1/tasks/${taskId}/messages`, { text });
      console.log('sent');
      return;
    }
    case 'prompts': {
      const [name] = args;
      if (!name) {
        for (const p of (await api('GET', '/v1/prompts')).prompts) {
          const candidate = p.candidateVersion ? `, candidate v${p.candidateVersion} at ${p.candidateShare}%` : '';
          console.log(`${p.name.padEnd(18)} v${p.activeVersion}${candidate}  (${p.versions} version${p.versions === 1 ? '' : 's'})  ${p.description}`);
        }
        return;
      }
      for (const v of (await api('GET', `/v1/prompts/${encodeURIComponent(name)}/versions`)).versions) {
        console.log(`v${v.version} ${v.status}${v.share !== undefined ? ` ${v.share}%` : ''}${v.builtin ? ' (built in)' : ''}${v.description ? ` — ${v.description}` : ''}`);
      }
      return;
    }
    case 'prompt-create': {
      const [name, file] = args;
      if (!name || !file) throw new CliError('usage: gatehouse prompt-create <name> <file>');
      const r = await api('POST', `/v1/prompts/${encodeURIComponent(name)}/versions`, { template: await readFile(file, 'utf8') });
      console.log(`${r.name} v${r.version} stored; gatehouse prompt-activate ${r.name} ${r.version} [--share PERCENT] puts it in force`);
      return;
    }
    case 'prompt-activate': {
      const [name, version] = args;
      if (!name || !version) throw new CliError('usage: gatehouse prompt-activate <name> <version> [--share PERCENT]');
      const r = await api('POST', `/v1/prompts/${encodeURIComponent(name)}/activate`, { version: Number(version), share: values.share === undefined ? undefined : Number(values.share) });
      console.log(`${r.name}: v${r.activeVersion} active${r.candidateVersion ? `, v${r.candidateVersion} candidate at ${r.candidateShare}%` : ''}`);
      return;
    }
    case 'prompt-compare': {
      const [name] = args;
      if (!name) throw new CliError('usage: gatehouse prompt-compare <name>');
      const rows = (await api('GET', `/v1/prompts/${encodeURIComponent(name)}/compare`)).versions.map((v: Record<string, any>) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the API
        version: v.version, tasks: v.tasks, calls: v.calls, failureRate: v.failureRate, p50ms: v.latencyMs.p50, p95ms: v.latencyMs.p95,
        tokensIn: v.tokens.input, tokensOut: v.tokens.output, costUsd: v.costUsd, feedback: v.feedback?.count ?? 0, meanScore: v.feedback?.meanScore ?? null,
      }));
      console.table(rows);
      return;
    }
    case 'feedback': {
      const [taskId] = args;
      if (!taskId || (values.score === undefined) === (values.thumbs === undefined)) throw new CliError('usage: gatehouse feedback <taskId> --score 1-5 | --thumbs up|down [--comment "<text>"] [--turn N]');
      const r = await api('POST', `/v1/tasks/${taskId}/feedback`, {
        ...(values.score !== undefined ? { score: Number(values.score) } : { thumbs: values.thumbs }),
        comment: values.comment,
        turn: values.turn === undefined ? undefined : Number(values.turn),
      });
      console.log(`feedback ${r.id}: ${r.verdict} on answer ${r.turn}${r.model ? ` by ${r.model}` : ''}${r.prompt ? ` with ${r.prompt.name}@${r.prompt.version}` : ''}`);
      return;
    }
    case 'replay': {
      const taskId = args[0];
      if (!taskId && !values.file) throw new CliError('usage: gatehouse replay <taskId> [--file history.json]');
      const history = values.file ? JSON.parse(await readFile(values.file, 'utf8')) : (await api('GET', `/v1/tasks/${taskId}/history`)).history;
      const workflowId = taskId ?? values.file!.replace(/^.*\//, '').replace(/\.json$/, '');
      const { replayTaskHistory } = await import('./replay.js');
      const outcome = await replayTaskHistory(history, workflowId);
      if (outcome.ok) {
        console.log(`OK ${workflowId}: ${outcome.events} events replay on the current workflow code`);
        return;
      }
      console.error(`${outcome.nonDeterministic ? 'NON-DETERMINISTIC' : 'REPLAY FAILED'} ${workflowId}: ${outcome.message}`);
      process.exitCode = 1;
      return;
    }
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A configuration error (replay's payload keys) is one line naming the variable, as at start-up.
  console.error(err instanceof CliError || (err as Error)?.name === 'ConfigError' ? `gatehouse: ${(err as Error).message}` : err);
  process.exitCode = 1;
});
