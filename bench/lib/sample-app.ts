/**
 * The app every contender serves: the compiled sample (`npm run build:sample`), loaded from its build
 * output rather than compiled a second time, so all four run the very same JavaScript.
 */
import 'reflect-metadata';
import type { Type } from '@nestjs/common';

const sampleModule = new URL('../../../sample/dist/app.module.js', import.meta.url);

export const AppModule = ((await import(sampleModule.href)) as { AppModule: Type<unknown> }).AppModule;

export { HOST } from './host.js';

export const PORT = Number(process.env.PORT);

/** The cluster size the runner chose; the same for every clustered contender. */
export const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
