/**
 * One Nest app in this process, no cluster: contender A as it is, and the script PM2 runs in each of
 * contender D's cluster workers (PM2 forks it, so it needs nothing cluster-aware).
 */
import { NestFactory } from '@nestjs/core';
import { AppModule, HOST, PORT } from '../lib/sample-app.js';

const app = await NestFactory.create(AppModule);
await app.listen(PORT, HOST);
