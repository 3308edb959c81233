// The studio's entry (bundled by studio/build.ts): its stylesheet and the app mounted into #root.
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.tsx";

const root = document.getElementById("root");
if (!root) throw new Error("the studio's page has no #root");
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
