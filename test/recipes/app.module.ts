/** The smallest module the recipes boot; each recipe is a `main.ts` as the README shows it. */
import { Module } from '@nestjs/common';
import { ClusterModule } from 'nestjs-cluster';

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })] })
export class AppModule {}
