-- How a person is spoken of in Russian ("Анна подключилась", "Иван подключился"): 'f', 'm', or
-- empty when not given (pages then use a form with no gender: "Вам отвечает Анна").
ALTER TABLE users ADD COLUMN gender TEXT;
