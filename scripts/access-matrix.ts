/**
 * `npm run docs:access`: writes the authorization matrix of workers/src/routes/access.ts into the README,
 * between its access-matrix markers (workers/src/routes/access.test.ts checks the two agree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { accessMarkdown } from '../workers/src/routes/access';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = '<!-- access-matrix:start -->\n';
const end = '\n<!-- access-matrix:end -->';
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < from) throw new Error('README.md has no access-matrix markers');
writeFileSync(path, readme.slice(0, from + start.length) + accessMarkdown() + readme.slice(to));
console.log('README.md: the access matrix is up to date');
