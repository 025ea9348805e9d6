/**
 * The projects of the compatibility suite: what a user of each Nest major and module system has in a
 * fresh project (package.json, the tsconfig `nest new` generates, an app module, main.ts), with
 * nestjs-cluster installed from the packed tarball.
 */

export type CombinationKey = 'A' | 'B' | 'C' | 'D';

export interface Combination {
  key: CombinationKey;
  /** How the tests name it, e.g. `Nest 11 CommonJS (module commonjs)`. */
  name: string;
  /** A directory name for its project. */
  slug: string;
  nest: 11 | 12;
  /** `"type": "module"`, relative imports with `.js` and a top-level await in main.ts. */
  esm: boolean;
  typescript: string;
  typesNode: string;
  /** The Nest CLI as `nest new` lists it (with its nest-cli.json), for `nest start --watch`; none if absent. */
  nestCli?: string;
  tsconfig: Record<string, unknown>;
}

/**
 * The CommonJS tsconfig `nest new` generated for years (Nest 8 to 10, and Nest 11 projects made with
 * an older CLI): `module: commonjs`, hence node10 resolution, where subpaths resolve through
 * `typesVersions` only.
 */
const COMMONJS_STARTER = {
  module: 'commonjs',
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2021',
  sourceMap: true,
  outDir: './dist',
  baseUrl: './',
  incremental: true,
  skipLibCheck: true,
  strictNullChecks: false,
  noImplicitAny: false,
  strictBindCallApply: false,
  forceConsistentCasingInFileNames: false,
  noFallthroughCasesInSwitch: false,
};

/** What `nest new` generates with @nestjs/schematics 11 (`strict` off, its default). */
const NEST_11_STARTER = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  outDir: './dist',
  baseUrl: './',
  incremental: true,
  skipLibCheck: true,
  strictNullChecks: true,
  forceConsistentCasingInFileNames: true,
  noImplicitAny: false,
  strictBindCallApply: false,
  noFallthroughCasesInSwitch: false,
};

/**
 * What `nest new` generates with @nestjs/schematics 12 (TypeScript 6, `strict` off, its default). Two
 * departures: `rootDir` is `./src` (the starter's `.` would put main.js in dist/src/, where the starter's
 * nest-cli.json looks for it) and `types` leaves out `vitest/globals` (no test runner is installed).
 */
const NEST_12_STARTER = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  outDir: './dist',
  rootDir: './src',
  incremental: true,
  skipLibCheck: true,
  strict: false,
  strictPropertyInitialization: false,
  types: ['node'],
};

export const COMBINATIONS: readonly Combination[] = [
  {
    key: 'A',
    name: 'Nest 11 CommonJS (module commonjs)',
    slug: 'a-nest11-commonjs',
    nest: 11,
    esm: false,
    typescript: '~5.7',
    typesNode: '^22',
    tsconfig: COMMONJS_STARTER,
  },
  {
    key: 'B',
    name: 'Nest 11 CommonJS (module nodenext)',
    slug: 'b-nest11-nodenext',
    nest: 11,
    esm: false,
    typescript: '~5.7',
    typesNode: '^22',
    tsconfig: NEST_11_STARTER,
  },
  {
    key: 'C',
    name: 'Nest 12 CommonJS (module nodenext)',
    slug: 'c-nest12-nodenext-cjs',
    nest: 12,
    esm: false,
    typescript: '~6.0',
    typesNode: '^24',
    nestCli: '^12',
    tsconfig: NEST_12_STARTER,
  },
  {
    key: 'D',
    name: 'Nest 12 ES modules (module nodenext)',
    slug: 'd-nest12-esm',
    nest: 12,
    esm: true,
    typescript: '~6.0',
    typesNode: '^24',
    tsconfig: NEST_12_STARTER,
  },
];

/** package.json of a user's project on this combination, nestjs-cluster from the packed tarball. */
export function packageJson(c: Combination, tarball: string): Record<string, unknown> {
  const nest = c.nest === 11 ? '^11' : '^12';
  return {
    name: `nestjs-cluster-compat-${c.slug}`,
    version: '0.0.1',
    private: true,
    license: 'UNLICENSED',
    ...(c.esm ? { type: 'module' } : {}),
    scripts: {
      build: 'tsc -p tsconfig.json',
      ...(c.nestCli ? { 'start:dev': 'nest start --watch' } : {}),
      'start:prod': 'node dist/main.js',
    },
    dependencies: {
      '@nestjs/common': nest,
      '@nestjs/config': c.nest === 11 ? '^4' : '^12',
      '@nestjs/core': nest,
      '@nestjs/platform-express': nest,
      '@nestjs/platform-socket.io': nest,
      '@nestjs/schedule': c.nest === 11 ? '^6' : '^12',
      '@nestjs/terminus': nest,
      '@nestjs/websockets': nest,
      'nestjs-cluster': `file:${tarball}`,
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.1',
      'socket.io': '^4.8.0',
    },
    devDependencies: {
      ...(c.nestCli ? { '@nestjs/cli': c.nestCli } : {}),
      '@types/express': '^5.0.0',
      '@types/node': c.typesNode,
      typescript: c.typescript,
    },
  };
}

export function tsconfigJson(c: Combination): Record<string, unknown> {
  return { compilerOptions: c.tsconfig };
}

/** A relative import as a user of this module system writes it. */
function local(c: Combination, path: string): string {
  return c.esm ? `${path}.js` : path;
}

/**
 * The README's Health recipe, a controller answering with the worker's pid, the documented
 * clusterConfig, an `@Interval` job run by `ClusterScheduleModule` on the leader only (each run a JSON
 * line on stdout), and a gateway whose broadcasts cross workers through `ClusterIoAdapter`.
 */
export function appModuleTs(): string {
  return `import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { ClusterModule } from 'nestjs-cluster';
import { clusterConfig } from 'nestjs-cluster/config';
import { ClusterHealthIndicator, ClusterHealthModule } from 'nestjs-cluster/health';
import { ClusterScheduleModule } from 'nestjs-cluster/schedule';
import type { Server } from 'socket.io';

@Injectable()
export class Ticker {
  @Interval(200) // on the leader only
  tick() {
    process.stdout.write(\`\${JSON.stringify({ tick: process.pid })}\\n\`);
  }
}

@WebSocketGateway()
export class ShoutGateway {
  @WebSocketServer()
  server!: Server;

  @SubscribeMessage('whoami')
  whoami() {
    return process.pid;
  }

  @SubscribeMessage('shout')
  shout(@MessageBody() text: string) {
    // reaches the clients of every worker
    this.server.emit('heard', { text, by: process.pid });
    return true;
  }
}

@Controller()
export class AppController {
  constructor(private readonly config: ConfigService) {}

  @Get()
  whoami() {
    return { pid: process.pid };
  }

  @Get('settings')
  settings() {
    // what this cluster runs with: explicit option > environment > default
    return { workers: this.config.get<number>('cluster.workers') };
  }
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  live() {
    return this.health.check([() => this.cluster.isHealthy('cluster')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.cluster.isAcceptingTraffic('traffic')]);
  }

  @Get('workers')
  @HealthCheck()
  workers() {
    return this.health.check([() => this.cluster.checkWorkers('workers', { timeoutMs: 1000 })]);
  }
}

@Module({
  imports: [
    ClusterModule.forRoot({ isGlobal: true }),
    ConfigModule.forRoot({ load: [clusterConfig] }),
    TerminusModule,
    ClusterHealthModule,
    ScheduleModule.forRoot(),
    ClusterScheduleModule,
  ],
  controllers: [AppController, HealthController],
  providers: [Ticker, ShoutGateway],
})
export class AppModule {}
`;
}

/**
 * A documented name from every entry of the package, as types: the compile proves that each entry
 * resolves, with its declarations, under the project's tsconfig. `NotAny` makes a name that resolved to
 * `any` (declarations not found, with `noImplicitAny` off) an error too. The optional peer the metrics entry
 * builds on (prom-client) is not installed: `skipLibCheck` lets that pass.
 */
export function importsTs(): string {
  return `import type { ClusterBootstrapOptions, ClusterEvent, ClusterService } from 'nestjs-cluster';
import type { ClusterHealthIndicator, ClusterHealthModule } from 'nestjs-cluster/health';
import type { ClusterConfig } from 'nestjs-cluster/config';
import type { ClusterTransport, MembershipTransport, NodeLink } from 'nestjs-cluster/transport';
import type { ClusterScheduleModule, LeaderScheduler } from 'nestjs-cluster/schedule';
import type { ClusterMetricsModule, ClusterMetricsModuleOptions } from 'nestjs-cluster/metrics';
import type { ClusterIoAdapter, AdapterCluster } from 'nestjs-cluster/socket.io';
import type { ConformanceRunner, transportConformance } from 'nestjs-cluster/testing';

type NotAny<T> = 0 extends 1 & T ? false : true;

export const everyEntryHasTypes: [
  NotAny<ClusterBootstrapOptions>,
  NotAny<ClusterEvent>,
  NotAny<ClusterService>,
  NotAny<ClusterHealthIndicator>,
  NotAny<ClusterHealthModule>,
  NotAny<ClusterConfig>,
  NotAny<ClusterTransport>,
  NotAny<MembershipTransport>,
  NotAny<NodeLink>,
  NotAny<ClusterScheduleModule>,
  NotAny<LeaderScheduler>,
  NotAny<ClusterMetricsModule>,
  NotAny<ClusterMetricsModuleOptions>,
  NotAny<ClusterIoAdapter>,
  NotAny<AdapterCluster>,
  NotAny<ConformanceRunner>,
  NotAny<typeof transportConformance>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
`;
}

/**
 * main.ts as a user of this module system writes it: an async bootstrap() in CommonJS (no top-level
 * await there), a top-level await in an ES module. The primary's events go to stdout as JSON lines,
 * which the test waits on; the port comes from PORT.
 */
export function mainTs(c: Combination): string {
  const imports = `import { bootstrapClustered } from 'nestjs-cluster';
import { ClusterIoAdapter } from 'nestjs-cluster/socket.io';
import { AppModule } from '${local(c, './app.module')}';
`;
  const options = `{
    workers: 2,
    configure: (app) => app.useWebSocketAdapter(new ClusterIoAdapter(app)),
    onPrimaryEvent: (event) => {
      process.stdout.write(\`\${JSON.stringify({ primaryEvent: event })}\\n\`);
    },
  }`;
  if (c.esm) return `${imports}\nawait bootstrapClustered(AppModule, ${options.replace(/\n {2}/g, '\n')});\n`;
  return `${imports}
async function bootstrap() {
  await bootstrapClustered(AppModule, ${options});
}
bootstrap();
`;
}

/** The nest-cli.json `nest new` generates: sources in src/, dist/ emptied before each compile. */
export const NEST_CLI_JSON = {
  $schema: 'https://json.schemastore.org/nest-cli',
  collection: '@nestjs/schematics',
  sourceRoot: 'src',
  compilerOptions: { deleteOutDir: true },
};

/** Every file of the project but the installed packages, by path. */
export function projectFiles(c: Combination, tarball: string): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(packageJson(c, tarball), null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfigJson(c), null, 2)}\n`,
    ...(c.nestCli ? { 'nest-cli.json': `${JSON.stringify(NEST_CLI_JSON, null, 2)}\n` } : {}),
    'src/app.module.ts': appModuleTs(),
    'src/imports.ts': importsTs(),
    'src/main.ts': mainTs(c),
  };
}

/**
 * A controller whose answer a developer edits while `nest start --watch` runs: the answer, and the pid of
 * the worker that gave it.
 */
export function watchedControllerTs(answer: string): string {
  return `import { Controller, Get } from '@nestjs/common';

@Controller()
export class AppController {
  @Get()
  answer() {
    return { answer: '${answer}', pid: process.pid };
  }
}
`;
}

/**
 * The app of the `nest start --watch` test, in the layout `nest new` gives (main.ts, app.module.ts,
 * app.controller.ts): ClusterModule, the controller above, main.ts as `mainTs` writes it but without the
 * websocket adapter.
 */
export function watchProjectFiles(c: Combination, tarball: string, answer: string): Record<string, string> {
  if (!c.nestCli) throw new Error(`${c.name}: no Nest CLI in this project`);
  return {
    'package.json': `${JSON.stringify({ ...packageJson(c, tarball), name: `nestjs-cluster-compat-${c.slug}-watch` }, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfigJson(c), null, 2)}\n`,
    'nest-cli.json': `${JSON.stringify(NEST_CLI_JSON, null, 2)}\n`,
    'src/app.controller.ts': watchedControllerTs(answer),
    'src/app.module.ts': `import { Module } from '@nestjs/common';
import { ClusterModule } from 'nestjs-cluster';
import { AppController } from '${local(c, './app.controller')}';

@Module({
  imports: [ClusterModule.forRoot({ isGlobal: true })],
  controllers: [AppController],
})
export class AppModule {}
`,
    'src/main.ts': mainTs(c)
      .replace(/^import \{ ClusterIoAdapter \}.*\n/m, '')
      .replace(/^ *configure: .*\n/m, ''),
  };
}
