import { artifactsRouter } from "./artifacts";
import { buildsRouter } from "./builds";
import { hostRouter } from "./host";
import { packagesRouter } from "./packages";
import { keysRouter } from "./keys";
import { presetsRouter } from "./presets";
import { profilesRouter } from "./profiles";
import { spaceRouter } from "./space";
import { vmsRouter } from "./vms";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  presets: presetsRouter,
  profiles: profilesRouter,
  host: hostRouter,
  builds: buildsRouter,
  artifacts: artifactsRouter,
  space: spaceRouter,
  vms: vmsRouter,
  packages: packagesRouter,
  keys: keysRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
