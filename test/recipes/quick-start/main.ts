// src/main.ts
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule } from './app.module';

async function bootstrap() {
  // One worker per CPU this process may use, on port 3000 (CLUSTER_WORKERS and PORT change them).
  await bootstrapClustered(AppModule);
}
bootstrap();
