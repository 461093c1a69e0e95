import { buildsRouter } from "./builds";
import { hostRouter } from "./host";
import { presetsRouter } from "./presets";
import { profilesRouter } from "./profiles";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  presets: presetsRouter,
  profiles: profilesRouter,
  host: hostRouter,
  builds: buildsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
