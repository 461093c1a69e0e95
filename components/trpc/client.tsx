"use client";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, isNonJsonSerializable, splitLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import { MAX_BATCH } from "@/server/http/limits";
import type { AppRouter } from "@/server/routers";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

function makeClient() {
  const url = "/api/trpc";
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        // Subscriptions go over SSE; on a dropped connection the link resends the last event id.
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url }),
        // Uploads (FormData) cannot be batched as JSON. The server refuses larger batches.
        false: splitLink({ condition: (op) => isNonJsonSerializable(op.input), true: httpLink({ url }), false: httpBatchLink({ url, maxItems: MAX_BATCH }) }),
      }),
    ],
  });
}

/** The token behind this page's cookie was rotated (or the cookie is gone): reloading shows the sign-in screen. */
function signedOut(e: unknown): boolean {
  if (!(e instanceof TRPCClientError)) return false;
  const status = (e.data as { httpStatus?: number } | undefined)?.httpStatus ?? (e.meta as { response?: Response } | undefined)?.response?.status;
  return status === 401;
}

function onError(e: unknown) {
  if (signedOut(e)) window.location.reload();
}

export function TrpcProviders({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError }),
        mutationCache: new MutationCache({ onError }),
        defaultOptions: { queries: { staleTime: 5_000, retry: (n, e) => !signedOut(e) && n < 1 } },
      }),
  );
  const [trpcClient] = useState(makeClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
