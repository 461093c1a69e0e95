import { PRESETS } from "@/server/mkosi/presets";
import { procedure, router } from "./trpc";

export const presetsRouter = router({
  list: procedure.query(() => PRESETS.map(({ id, name, description }) => ({ id, name, description }))),
});
