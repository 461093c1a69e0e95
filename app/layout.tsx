import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { TrpcProviders } from "@/components/trpc/client";
import "./globals.css";

export const metadata: Metadata = { title: "Image Studio", description: "Compose immutable Linux images with mkosi" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased">
        <header className="border-b border-slate-200 bg-white">
          <nav className="mx-auto flex max-w-[1600px] items-center gap-6 px-4 py-3">
            <Link href="/" className="font-semibold tracking-tight">Image Studio</Link>
            <Link href="/" className="text-sm text-slate-600 hover:text-slate-900">Profiles</Link>
            <Link href="/builds" className="text-sm text-slate-600 hover:text-slate-900">Builds</Link>
            <Link href="/space" className="text-sm text-slate-600 hover:text-slate-900">Space</Link>
            <Link href="/host" className="text-sm text-slate-600 hover:text-slate-900">Host</Link>
          </nav>
        </header>
        <TrpcProviders>
          <main className="mx-auto max-w-[1600px] px-4 py-6">{children}</main>
        </TrpcProviders>
      </body>
    </html>
  );
}
