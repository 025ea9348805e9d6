// app.module.ts
import { Module } from '@nestjs/common';
import { ClusterModule } from 'nestjs-cluster';
import { Watcher } from './watcher.js';

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true })], providers: [Watcher] })
export class AppModule {}
