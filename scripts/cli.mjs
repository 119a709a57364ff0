/** The command-line entry of the scripts here, written once. */
import { pathToFileURL } from 'node:url';

/**
 * When the module at `moduleUrl` is the script Node was started with (not merely imported), runs
 * `main` with the command-line arguments and exits with the code it resolves with; an error is printed
 * as `<name>: <message>` and exits 1.
 * @param {string} moduleUrl  the caller's `import.meta.url`
 * @param {string} name       prefix of the error line
 * @param {(argv: readonly string[]) => Promise<number>} main
 */
export function runAsScript(moduleUrl, name, main) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
