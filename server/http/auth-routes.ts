// The sign-in routes the server answers itself (server/http/app.ts). No imports: the browser
// calls them too.
export const AUTH_ROUTES = { login: "/auth/login", logout: "/auth/logout", rotate: "/auth/rotate" } as const;
