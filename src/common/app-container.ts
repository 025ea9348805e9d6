import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

/** Every provider and controller of the app, as Nest holds them, module by module. */
export function* providersAndControllers(app: INestApplicationContext): Generator<InstanceWrapper> {
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    yield* module.providers.values();
    yield* module.controllers.values();
  }
}

/** The instance of `token` in any module of the app, if one provides it (`app.get` would log an error for one that is not there). */
export function providedInstance(app: INestApplicationContext, token: unknown): unknown {
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    const instance = module.providers.get(token as never)?.instance;
    if (instance) return instance;
  }
  return undefined;
}
