import { tracked } from "@trpc/server";
import { z } from "zod";
import { CPUS, LOGIN_TIMEOUT_S, MEMORY_MIB } from "@/server/vms/limits";
import * as vms from "@/server/vms/service";
import { procedure, router } from "./trpc";

const positive = z.number().int().positive();
const run = z.object({ runId: positive });
const whole = (name: string, r: { min: number; max: number }) =>
  z.number({ error: `${name} must be a number` }).int(`${name} must be a whole number`).min(r.min, `must be at least ${r.min}`).max(r.max, `must be at most ${r.max}`);
const vmOptions = z.object({
  buildId: positive,
  memoryMib: whole("memoryMib", MEMORY_MIB).optional(),
  cpus: whole("cpus", CPUS).optional(),
  network: z.boolean().optional(),
});

export const vmsRouter = router({
  /** Boots a finished build's disk image in QEMU (snapshot: the image is never changed), console on the serial port. */
  start: procedure.input(vmOptions).mutation(({ ctx, input }) => {
    const { buildId, ...options } = input;
    return vms.startVm(vms.vms(ctx.db), buildId, options);
  }),
  /** Boots the build and checks it: login, root format, overlay, persistent data, systemd-boot, UKI. */
  bootCheck: procedure
    .input(vmOptions.extend({ loginTimeoutS: whole("loginTimeoutS", LOGIN_TIMEOUT_S).optional() }))
    .mutation(({ ctx, input }) => {
      const { buildId, ...options } = input;
      return vms.startCheck(vms.vms(ctx.db), buildId, options);
    }),
  /** Turns the VM off; returns the run once QEMU has ended. */
  stop: procedure.input(run).mutation(({ ctx, input }) => vms.stopVm(vms.vms(ctx.db), input.runId)),
  /** Keys typed into the console (as the terminal sends them), within the console's input rate. */
  input: procedure.input(run.extend({ data: z.string().min(1, "must not be empty") })).mutation(({ ctx, input }) => {
    vms.vms(ctx.db).type(input.runId, input.data);
    return { ok: true as const };
  }),
  get: procedure.input(run).query(({ ctx, input }) => vms.getRun(vms.vms(ctx.db), input.runId)),
  /** A build's VM runs and boot checks, newest first. */
  list: procedure.input(z.object({ buildId: positive })).query(({ ctx, input }) => vms.listRuns(vms.vms(ctx.db), input.buildId)),
  /** The same list now and after every change. */
  watch: procedure
    .input(z.object({ buildId: positive }))
    .subscription(({ ctx, input, signal }) => vms.watchRuns(vms.vms(ctx.db), input.buildId, signal)),
  /**
   * The serial console as text events, live while the VM runs. Each event's id is the byte
   * offset after it; a reconnecting client sends the last one as lastEventId and gets the rest.
   */
  console: procedure
    .input(run.extend({ lastEventId: z.string().regex(/^\d{1,15}$/, "must be the id of an earlier event").nullish() }))
    .subscription(({ ctx, input, signal }) => {
      const events = vms.followConsole(vms.vms(ctx.db), input.runId, input.lastEventId ? Number(input.lastEventId) : 0, signal);
      return (async function* () {
        for await (const e of events) yield tracked(String(e.offset), { text: e.text });
      })();
    }),
  /** Boot-check every successful build of this profile. */
  setBootCheckAfterBuild: procedure
    .input(z.object({ profileId: positive, enabled: z.boolean() }))
    .mutation(({ ctx, input }) => vms.setBootCheckAfterBuild(ctx.db, input.profileId, input.enabled)),
});
