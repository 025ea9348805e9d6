// Runs each argument as a shell command, all at once (the builds of `npm run build` and `build:test`
// are independent, and a machine has more than one core); exits with the first failure's code, if any.
import { spawn } from 'node:child_process';

const codes = await Promise.all(
  process.argv.slice(2).map(
    (command) =>
      new Promise((resolve) => {
        spawn(command, { shell: true, stdio: 'inherit' }).on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
process.exit(codes.find((code) => code !== 0) ?? 0);
