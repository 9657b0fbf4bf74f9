// Copies every .lua file under the source folder into the build output at the same relative path, where
// the compiled code reads it (tsc copies only what it compiles). No dependency: run after tsc by
// `npm run build`. Usage: node tools/copy-lua.mjs [sourceDir=src] [outDir=dist]
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

const [sourceDir = 'src', outDir = 'dist'] = process.argv.slice(2);

async function luaFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return luaFiles(path);
      return Promise.resolve(entry.name.endsWith('.lua') ? [path] : []);
    }),
  );
  return nested.flat();
}

const files = await luaFiles(sourceDir);
for (const file of files) {
  const target = join(outDir, relative(sourceDir, file));
  await mkdir(dirname(target), { recursive: true });
  await copyFile(file, target);
}
console.log(`copied ${files.length} Lua script(s) from ${sourceDir} to ${outDir}`);
