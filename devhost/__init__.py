"""A small local host for this Functions app: HTTP and timer triggers, and a Durable engine
that drives orchestrators through the SDK's replay protocol with its state in Table Storage.
It imports the app as the Functions host would; the app never imports it."""
