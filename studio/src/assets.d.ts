// Stylesheets are imported for their effect: Bun.build bundles them into the hashed CSS file.
declare module "*.css";
