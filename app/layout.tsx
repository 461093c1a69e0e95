import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { TrpcProviders } from "@/components/trpc/client";
import "./globals.css";

// One source, public/icon.svg; favicon.ico, icon-512.png and apple-touch-icon.png are drawn from it.
export const metadata: Metadata = {
  title: "Image Studio",
  description: "Compose immutable Linux images with mkosi",
  icons: {
    icon: [
      { url: "/icon.svg", type: "image/svg+xml" },
      { url: "/favicon.ico", sizes: "32x32" },
      { url: "/icon-512.png", type: "image/png", sizes: "512x512" },
    ],
    apple: { url: "/apple-touch-icon.png", sizes: "180x180" },
  },
};

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
