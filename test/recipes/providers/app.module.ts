import { Injectable, Module } from '@nestjs/common';
import { Cron, ScheduleModule } from '@nestjs/schedule';
import { ClusterModule } from 'nestjs-cluster';
import { ClusterScheduleModule } from 'nestjs-cluster/schedule';

@Injectable()
export class ReportService {
  @Cron('0 0 7 * * *') // at 07:00, once in the whole cluster (on the leader), not once per worker
  async sendDailyReport(): Promise<void> {
    console.log('daily report sent');
  }
}

@Module({
  imports: [ClusterModule.forRoot({ isGlobal: true }), ScheduleModule.forRoot(), ClusterScheduleModule],
  providers: [ReportService],
})
export class AppModule {}
