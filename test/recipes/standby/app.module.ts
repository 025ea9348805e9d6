// app.module.ts: any app; the recipe is about main.ts
import { Controller, Get, Module } from '@nestjs/common';

@Controller()
export class WhoamiController {
  @Get('whoami')
  whoami() {
    return { pid: process.pid };
  }
}

@Module({ controllers: [WhoamiController] })
export class AppModule {}
