/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native addon and process helpers stay as plain Node requires on the server.
  serverExternalPackages: ["better-sqlite3"],
  typedRoutes: false,
};

export default nextConfig;
