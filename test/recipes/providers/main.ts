/**
 * The provider recipes of docs/ in one app: docs/leadership.md's `@Cron` module as a user's module,
 * and the providers that the docs show on their own (messages, decorated handlers, leadership, a
 * run-time interval) added beside it. The routes drive
 * them and name the worker that answered:
 * - `GET /invalidate/:key` publishes, `GET /invalidate/:key/on/:slot` sends to one slot;
 * - `GET /size/:slot` asks one slot, `GET /total` asks every worker, `GET /sessions` asks every
 *   worker's decorated handler;
 * - `GET /role`: whether this worker leads, and what its `@LeaderOnly()` method returned.
 */
import { Controller, Get, Module, Param, ParseIntPipe } from '@nestjs/common';
import { bootstrapClustered, ClusterService } from 'nestjs-cluster';
import { AppModule } from './app.module.js';
import { CacheService } from './cache.service.js';
import { SearchIndex } from './search-index.js';
import { Sessions } from './sessions.js';
import { SyncService } from './sync.service.js';

@Controller()
export class RecipesController {
  constructor(
    private readonly cache: CacheService,
    private readonly index: SearchIndex,
    private readonly cluster: ClusterService,
  ) {}

  @Get('invalidate/:key')
  invalidate(@Param('key') key: string) {
    this.cache.invalidate(key);
    return { slot: this.cluster.self.slot };
  }

  @Get('invalidate/:key/on/:slot')
  invalidateOn(@Param('key') key: string, @Param('slot', ParseIntPipe) slot: number) {
    this.cache.invalidateOn(slot, key);
    return { slot: this.cluster.self.slot };
  }

  @Get('size/:slot')
  async size(@Param('slot', ParseIntPipe) slot: number) {
    return { size: await this.cache.sizeOn(slot) };
  }

  @Get('total')
  async total() {
    return { total: await this.cache.totalSize() };
  }

  @Get('sessions')
  async sessions() {
    const { replies, missing } = await this.cluster.requestAll<number>('sessions.count', null, { timeoutMs: 2000 });
    return { slot: this.cluster.self.slot, replies: replies.map(({ slot, data }) => ({ slot, data })), missing };
  }

  @Get('role')
  async role() {
    const rebuilt = await this.index.rebuild();
    return { slot: this.cluster.self.slot, role: this.index.role(), rebuilt: rebuilt ?? null };
  }
}

@Module({ imports: [AppModule], controllers: [RecipesController], providers: [CacheService, Sessions, SearchIndex, SyncService] })
export class RecipesModule {}

await bootstrapClustered(RecipesModule);
