// The shapes the artifacts and space APIs return, as their routers really type them.
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";

type Out = inferRouterOutputs<AppRouter>;

export type ArtifactList = Out["artifacts"]["list"];
export type Artifact = ArtifactList["files"][number];
export type ArtifactKind = Artifact["kind"];
export type ChecksumState = Artifact["checksum"];
export type Inspection = Out["artifacts"]["inspect"];
export type DiskInspection = Extract<Inspection, { type: "disk" }>;
export type UkiInspection = Extract<Inspection, { type: "uki" }>;
export type ConversionJob = Out["artifacts"]["conversions"][number];
export type ConversionFormat = ConversionJob["format"];
export type SpaceUsage = Out["space"]["usage"];
export type SpaceBuild = SpaceUsage["builds"][number];
