-- How a device looks and behaves, set in the back office: a board's template (rows, the Status
-- column, banner, logo, colours) or a kiosk's options (receipt printing, logo), as JSON the
-- model validates (model::board::BoardLook, model::kiosk::KioskLook). Empty: the defaults.
ALTER TABLE devices ADD COLUMN look TEXT;
