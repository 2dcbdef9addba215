// Preloaded (`--import`) into a server under test in (b), so the report can say where each
// request's CPU time goes: idle until SIGUSR2, which starts a CPU profile; the next SIGUSR2 stops
// it and writes it to CPU_PROFILE_FILE. Started only after the timed rounds, so they are unprofiled.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const file = process.env.CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!running) {
        running = true;
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 250 });
        await session.post('Profiler.start');
        return;
      }
      running = false;
      const { profile } = await session.post('Profiler.stop');
      // Written whole, then renamed: the parent waits for the name.
      writeFileSync(`${file}.tmp`, JSON.stringify(profile));
      renameSync(`${file}.tmp`, file);
    })();
  });
}
