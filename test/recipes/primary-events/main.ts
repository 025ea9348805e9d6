// main.ts: the primary's decisions as JSON lines, beside Nest's log
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module.js';

await bootstrapClustered(AppModule, {
  onPrimaryEvent: (event) => {
    process.stdout.write(`${JSON.stringify({ primaryEvent: event })}\n`);
    if (event.type === 'stopped') process.stdout.write(`the primary exits with code ${event.code}\n`);
  },
});
